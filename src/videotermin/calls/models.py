"""The application processes that hold room sockets, each with its lease.

A member's socket lives in one process; its channel name starts with that process's prefix
(`channels_redis` gives every process its own, the in-memory layer one for all). Every process
renews its lease a few times a minute (`presence.py`); a member whose process let its lease run
out — killed, its node gone — is no longer connected, whichever process notices first.
"""

from django.db import models


class Node(models.Model):
    prefix = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.prefix
