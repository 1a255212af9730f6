"""The embedded channel layer: Channels' in-memory layer, made fit for a room of many.

Channels' own in-memory layer looks through every channel and group for expired messages on
every send and receive — most of a busy server's time with a few thousand sockets — and takes a
channel out of all its groups as soon as one message to it waited longer than the expiry, so a
consumer that was slow for a minute silently stops hearing its room. This one cleans at most
once a second and only drops the expired messages: a consumer leaves its groups when its socket
closes, as every consumer here does.

Channels' layer also builds a new queue on every send and receive and throws away a channel's
queue whenever it runs empty, so every receiving socket held a fresh queue after each message;
and it sends to a group through a task per member. Here a channel keeps its queue while its
consumer listens (the cleaning drops those nobody waits on), and a group's members are sent to
directly: nothing is left behind per relayed message for Python's collector to look through
(docs/decisions/scale.md).

It serves one process only: with several processes (uvicorn --workers, several nodes) the two
ends of a call may sit in different ones, so REDIS_URL is required there (docs/operations.md),
and `lib/redislayer.py` builds on this layer to reach the other processes.
"""

import asyncio
import contextlib
import logging
import os
import time
from copy import deepcopy
from pathlib import Path

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

logger = logging.getLogger(__name__)

CLEAN_EVERY = 1.0


class LayerUnavailable(ConnectionError):
    """The layer cannot reach the other processes (Redis does not answer): a message could not
    be sent, or a socket cannot listen yet. Raised by `lib/redislayer.py`, never by this one."""


class LocalChannelLayer(InMemoryChannelLayer):
    # A publish after a commit is handed to the event loop without waiting (lib/events.py).
    hands_over = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned = 0.0
        # How often it looked through everything (the tests and the bench read it).
        self.cleanings = 0

    def _queue(self, channel: str) -> asyncio.Queue:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    def _put(self, channel: str, message: dict) -> None:
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, deepcopy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def send(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        assert "__asgi_channel__" not in message
        self.require_valid_channel_name(channel)
        self._put(channel, message)

    async def receive(self, channel: str) -> dict:
        self.require_valid_channel_name(channel)
        self._clean_expired()
        _, message = await self._queue(channel).get()
        return message

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        self.deliver("group_send", group, message)

    def deliver(self, method: str, target: str, message: dict) -> None:
        """`group_send` or `send` done at once, on the layer's event loop (lib/events.py hands
        the publishes of a socket's database calls over without waiting). A full channel
        misses the message, as in Channels' layers a member of a group does."""
        channels = list(self.groups.get(target, ())) if method == "group_send" else [target]
        for channel in channels:
            with contextlib.suppress(ChannelFull):
                self._put(channel, message)

    def _clean_expired(self) -> None:
        now = time.time()
        if now - self._cleaned < CLEAN_EVERY:
            return
        self._cleaned = now
        self.cleanings += 1
        for channel, queue in list(self.channels.items()):
            while not queue.empty() and queue._queue[0][0] < now:  # type: ignore[attr-defined]
                queue.get_nowait()
            # An empty queue nobody waits on belongs to a consumer that is gone (or busy: its
            # next receive makes a new one).
            if queue.empty() and not queue._getters:  # type: ignore[attr-defined]
                self.channels.pop(channel, None)
        timeout = int(now) - self.group_expiry
        for channels in self.groups.values():
            for name, joined in list(channels.items()):
                if joined and joined < timeout:
                    channels.pop(name, None)


def serving_processes(parent: int | None = None) -> int:
    """How many processes the server that started this one runs: 1 when this process is the
    server itself; else uvicorn's `--workers`, gunicorn's `-w` or `WEB_CONCURRENCY`, which both
    read (a reloader's one child is one)."""
    try:
        argv = Path(f"/proc/{parent or os.getppid()}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return 1
    words = [word.decode(errors="replace") for word in argv if word]
    if not any(Path(word).name in ("uvicorn", "gunicorn") for word in words) or "--reload" in words:
        return 1
    for index, word in enumerate(words):
        value = None
        if word in ("--workers", "-w") and index + 1 < len(words):
            value = words[index + 1]
        elif word.startswith("--workers="):
            value = word.partition("=")[2]
        if value is not None and value.isdigit():
            return int(value)
    concurrency = os.environ.get("WEB_CONCURRENCY", "")
    return int(concurrency) if concurrency.isdigit() else 1


# A worker that exits with this before it serves stops the whole server, in uvicorn
# (STARTUP_FAILURE) and in gunicorn (WORKER_BOOT_ERROR) alike; any other exit is restarted.
WORKER_FAILED_TO_START = 3


def require_one_process(layer: object) -> None:
    """The embedded layer in a server of several processes would leave the two ends of a call
    unable to hear each other: such a server does not start, and says why."""
    processes = serving_processes()
    if type(layer) is LocalChannelLayer and processes > 1:
        logger.critical(
            "The embedded channel layer serves one process, and this server runs %d: set "
            "REDIS_URL, or run one process (WEB_CONCURRENCY=1). See docs/operations.md.",
            processes,
        )
        raise SystemExit(WORKER_FAILED_TO_START)
