"""The embedded channel layer: Channels' in-memory layer, made fit for a room of many.

Channels' own in-memory layer looks through every channel and group for expired messages on
every send and receive — most of a busy server's time with a few thousand sockets — and takes a
channel out of all its groups as soon as one message to it waited longer than the expiry, so a
consumer that was slow for a minute silently stops hearing its room. This one cleans at most
once a second and only drops the expired messages: a consumer leaves its groups when its socket
closes, as every consumer here does.

It serves one process only: with several processes (uvicorn --workers, several nodes) the two
ends of a call may sit in different ones, so REDIS_URL is required there (docs/operations.md).
"""

import time

from channels.layers import InMemoryChannelLayer

CLEAN_EVERY = 1.0


class LocalChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned = 0.0
        # How often it looked through everything (the tests and the bench read it).
        self.cleanings = 0

    def _clean_expired(self) -> None:
        now = time.time()
        if now - self._cleaned < CLEAN_EVERY:
            return
        self._cleaned = now
        self.cleanings += 1
        for channel, queue in list(self.channels.items()):
            expired = False
            while not queue.empty() and queue._queue[0][0] < now:  # type: ignore[attr-defined]
                queue.get_nowait()
                expired = True
            # A queue that held messages has no receiver waiting on it; an empty one may have.
            if expired and queue.empty():
                self.channels.pop(channel, None)
        timeout = int(now) - self.group_expiry
        for channels in self.groups.values():
            for name, joined in list(channels.items()):
                if joined and joined < timeout:
                    channels.pop(name, None)
