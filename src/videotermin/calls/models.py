"""The application processes that hold room sockets, each with its lease.

A member's socket lives in one process, which the member's `node` names (`presence.NODE`:
host, process id and a random part, so a restarted process is a new one). Every process
renews its lease a few times a minute (`presence.py`); a member whose process let its lease run
out — killed, its node gone — is no longer connected, whichever process notices first.
"""

from django.db import models


class Node(models.Model):
    prefix = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.prefix
