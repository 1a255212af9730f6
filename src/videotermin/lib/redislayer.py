"""The channel layer across processes: one Redis PUBLISH per message that leaves the process.

Within a process it is the embedded layer (`lib/channellayer.py`): a message to a socket of the
same process goes straight into that socket's queue. A channel's name carries the id of the
process that holds it (`specific.<process>!<random>`), so a message to a socket of another
process is one PUBLISH to that process's own Redis channel; a message to a group is delivered to
the members in this process and published once to the group's Redis channel, which every
process with a member in the group subscribes to. Each process holds one subscribing connection
to Redis and a small pool for publishing.

Channels' own Redis layers cost more per message: `channels_redis.core` makes four commands per
send and a blocking pop per receive, routes messages between sockets of one process through
Redis too, and keeps them up to a minute; its pub/sub layer publishes one message at a time under
a lock, subscribes every socket's channel in Redis, sends a process's messages to itself through
Redis as well, keeps no limit per socket, and keeps a subscription for every probe's reply
channel (docs/decisions/scale.md).

Delivery is at most once, as signaling allows: a page whose peer connection does not come up
restarts it (docs/protocol.md). What a page must not miss is its room's state; so when the
subscribing connection is lost (Redis restarted, the network cut), every socket of the process
is told (`layer.lost`) and closes, and its page comes back and reads the room afresh once Redis
answers again. A publish that fails raises, as Channels' layers do: a service's event that could
not be announced is then handled by the caller (calls/consumers.py undoes an arrival).
"""

import asyncio
import contextlib
import logging
import secrets
import time
import weakref
from collections.abc import Callable
from typing import Any

import msgpack
from channels.exceptions import ChannelFull
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from videotermin.lib.channellayer import LayerUnavailable, LocalChannelLayer

logger = logging.getLogger(__name__)

# How long a subscription may take to be confirmed, and a publish to be answered.
ANSWER_SECONDS = 2.0
# The subscribing connection pings Redis after this much silence, and is given up when the
# ping is not answered within ANSWER_SECONDS (a Redis that hangs keeps its connections open).
QUIET_SECONDS = 5.0
# After a lost connection, the next attempt after 0.1 s, then 0.2, 0.4 … at most 2 s.
RETRY_FIRST = 0.1
RETRY_MAX = 2.0
# What every socket of the process hears when messages for it may have been lost.
LOST = {"type": "layer.lost"}


def _pack(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def _unpack(data: bytes) -> dict[str, Any]:
    return msgpack.unpackb(data, raw=False)


def _options(**options: Any) -> dict[str, Any]:
    return {
        "socket_connect_timeout": ANSWER_SECONDS,
        # Tried again at once on a fresh connection (one kept from before a Redis restart fails
        # first), then the caller hears of it: nothing waits long on a Redis that is away.
        "retry": Retry(NoBackoff(), 1),
        **options,
    }


class RedisChannelLayer(LocalChannelLayer):
    """Configured with `url` (a redis:// address), `prefix`, `capacity` and `expiry`."""

    # The database thread waits for a group send: a publish can fail (lib/events.py).
    hands_over = False

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "videotermin", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.prefix = prefix
        self.process = secrets.token_hex(6)
        self.inbox = self._process_channel(self.process)
        self._links: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Link] = (
            weakref.WeakKeyDictionary()
        )

    # Names -------------------------------------------------------------------------------------

    def _process_channel(self, process: str) -> str:
        return f"{self.prefix}:process:{process}"

    def _group_channel(self, group: str) -> str:
        return f"{self.prefix}:group:{group}"

    def _owner(self, channel: str) -> str:
        """The process that holds `channel`: this one for a name it did not give out."""
        head, bang, _ = channel.partition("!")
        return head.rpartition(".")[2] if bang else self.process

    async def new_channel(self, prefix: str = "specific.") -> str:
        # Subscribed before the name is given out: nothing sent to it can pass by.
        await self._link().ready()
        return f"{prefix}{self.process}!{secrets.token_hex(8)}"

    def _link(self) -> "_Link":
        loop = asyncio.get_running_loop()
        link = self._links.get(loop)
        if link is None:
            link = self._links[loop] = _Link(self)
        return link

    async def _publish(self, name: str, envelope: dict[str, Any]) -> None:
        link = self._links.get(asyncio.get_running_loop())
        if link is not None:
            await link.publish(name, envelope)
            return
        # An event loop that serves no socket (the worker, a command, a view before the first
        # socket): a connection for this one message, closed with it.
        client = aioredis.Redis.from_url(self.url, **_options(socket_timeout=ANSWER_SECONDS))
        try:
            await client.publish(name, _pack(envelope))
        except (RedisError, OSError) as error:
            raise LayerUnavailable(f"Redis did not take a message: {error!r}") from error
        finally:
            await client.aclose()

    # Sending -----------------------------------------------------------------------------------

    async def send(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        owner = self._owner(channel)
        if owner == self.process:
            self._put(channel, message)
        else:
            await self._publish(self._process_channel(owner), {"to": channel, "m": message})

    async def send_through_redis(self, channel: str, message: dict) -> None:
        """`send` by way of Redis even to a channel of this process (the readiness check)."""
        await self._publish(self.inbox, {"to": channel, "m": message})

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        self.deliver("group_send", group, message)
        await self._publish(self._group_channel(group), {"from": self.process, "m": message})

    # Groups ------------------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        # In the group first: a member leaving meanwhile does not find it empty and unsubscribe.
        await super().group_add(group, channel)
        try:
            await self._link().subscribe(self._group_channel(group))
        except LayerUnavailable:
            await super().group_discard(group, channel)
            raise

    async def group_discard(self, group: str, channel: str) -> None:
        await super().group_discard(group, channel)
        if group not in self.groups:
            await self._link().unsubscribe(
                self._group_channel(group), unused=lambda: group not in self.groups
            )

    def subscriptions(self) -> list[str]:
        """The Redis channels this process listens to: its own and its groups'."""
        return [self.inbox] + [self._group_channel(group) for group in self.groups]

    # Receiving from Redis ----------------------------------------------------------------------

    def received(self, name: str, data: bytes) -> None:
        """A message published to one of this process's Redis channels."""
        envelope = _unpack(data)
        if name == self.inbox:
            targets = [envelope["to"]]
        elif envelope.get("from") == self.process:
            return  # a group message of this process: its members had it at once
        else:
            group = name.removeprefix(f"{self.prefix}:group:")
            targets = list(self.groups.get(group, ()))
        expires = time.time() + self.expiry
        for index, channel in enumerate(targets):
            # Each target its own copy: one unpacked anew is cheaper than a deep copy.
            message = envelope["m"] if index == 0 else _unpack(data)["m"]
            try:
                self._queue(channel).put_nowait((expires, message))
            except asyncio.QueueFull:
                self._dropped(ChannelFull(channel), message)

    @staticmethod
    def _dropped(error: ChannelFull, message: dict[str, Any]) -> None:
        from videotermin.monitoring import metrics

        metrics.dropped(str(message.get("type", "")))
        logger.warning("A message from another process was dropped: %s is behind", error)

    def lost(self) -> None:
        """Messages for this process may have gone by: every socket hears of it (a busy one in
        a group may have no queue at this moment: it gets one)."""
        channels = set(self.channels).union(*self.groups.values())
        for channel in channels:
            with contextlib.suppress(ChannelFull):
                self._put(channel, LOST)

    # Lifecycle ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        await super().flush()
        await self.close()

    async def close(self) -> None:
        link = self._links.pop(asyncio.get_running_loop(), None)
        if link is not None:
            await link.close()


class _Link:
    """One event loop's connections to Redis: a pool for publishing, one connection that
    subscribes (a task of its own reads it, and opens it again when it is lost)."""

    def __init__(self, layer: RedisChannelLayer) -> None:
        self.layer = layer
        self.publisher = aioredis.Redis.from_url(
            layer.url, **_options(socket_timeout=ANSWER_SECONDS, max_connections=1000)
        )
        # Its reads wait for messages as long as there are none.
        self.subscriber = aioredis.Redis.from_url(layer.url, **_options(socket_timeout=None))
        self.pubsub: Any = None
        # Subscribed to the process's own channel: what is published to it arrives.
        self.up = asyncio.Event()
        # Set when a subscription failed: the reading task opens the connection again.
        self.broken = False
        # Subscribed on the current connection (what was published before it may be lost).
        self.live = False
        self.failed: BaseException | None = None
        # Redis channel -> a future resolved when Redis confirms the subscription.
        self.confirmations: dict[str, asyncio.Future] = {}
        # Subscriptions change one at a time, in the order they were asked for.
        self.changing = asyncio.Lock()
        # Resolved when the current connection is subscribed (True) or failed (False).
        self.attempt: asyncio.Future = asyncio.get_running_loop().create_future()
        self.task = asyncio.get_running_loop().create_task(self._listen())

    async def ready(self) -> None:
        """Return once this process receives what is published to it; raise if Redis is away."""
        if self.up.is_set():
            return
        if self.failed is None:
            # The first connection is on its way (or one that is opened again).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.attempt), ANSWER_SECONDS)
        if not self.up.is_set():
            raise LayerUnavailable(f"not subscribed to Redis: {self.failed!r}")

    async def publish(self, name: str, envelope: dict[str, Any]) -> None:
        try:
            await self.publisher.publish(name, _pack(envelope))
        except (RedisError, OSError) as error:
            raise LayerUnavailable(f"Redis did not take a message: {error!r}") from error

    async def subscribe(self, name: str) -> None:
        await self.ready()
        async with self.changing:
            confirmed = self.confirmations.get(name)
            if confirmed is None:
                confirmed = self.confirmations[name] = asyncio.get_running_loop().create_future()
                try:
                    await asyncio.wait_for(self.pubsub.subscribe(name), ANSWER_SECONDS)
                except (RedisError, OSError) as error:
                    self.confirmations.pop(name, None)
                    self._break()
                    raise LayerUnavailable(f"Redis refused a subscription: {error!r}") from error
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), ANSWER_SECONDS)
        except TimeoutError:
            self._break()
            raise LayerUnavailable(f"Redis did not confirm the subscription to {name}") from None
        except asyncio.CancelledError:
            if not confirmed.cancelled():
                raise  # the caller was cancelled
            # The connection was lost before Redis confirmed it.
            raise LayerUnavailable(f"no subscription to {name}: {self.failed!r}") from None

    async def unsubscribe(self, name: str, unused: Callable[[], bool]) -> None:
        """Unsubscribe if `unused()` still holds once no other change is under way."""
        async with self.changing:
            if not unused() or self.confirmations.pop(name, None) is None or not self.up.is_set():
                return
            # Should it fail, the next connection subscribes only to what is in use.
            with contextlib.suppress(RedisError, OSError):
                await asyncio.wait_for(self.pubsub.unsubscribe(name), ANSWER_SECONDS)

    def _break(self) -> None:
        """The subscribing connection cannot be trusted: open it again (within a second)."""
        self.up.clear()
        self.broken = True

    async def _listen(self) -> None:
        delay = RETRY_FIRST
        while True:
            self.live = False
            try:
                await self._connection()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self.live or self.failed is None:
                    logger.warning("The channel layer lost its connection to Redis: %r", error)
                self.failed = error
            finally:
                self.up.clear()
                self.broken = False
                if not self.attempt.done():
                    self.attempt.set_result(False)
                for confirmed in self.confirmations.values():
                    confirmed.cancel()
                self.confirmations = {}
                if self.pubsub is not None:
                    with contextlib.suppress(Exception):
                        await self.pubsub.aclose()
            if self.live:
                # Messages for this process may have been published meanwhile.
                self.layer.lost()
                delay = RETRY_FIRST
            self.attempt = asyncio.get_running_loop().create_future()
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX, delay * 2)

    async def _connection(self) -> None:
        """Subscribe to what the process listens to, then read until the connection fails."""
        self.pubsub = self.subscriber.pubsub()
        names = self.layer.subscriptions()
        loop = asyncio.get_running_loop()
        self.confirmations = {name: loop.create_future() for name in names}
        await self.pubsub.subscribe(*names)
        heard = time.monotonic()
        pinged: float | None = None
        while not self.broken:
            message = await self.pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is None:
                if pinged is not None and now - pinged > ANSWER_SECONDS:
                    raise LayerUnavailable("Redis did not answer a ping")
                if pinged is None and now - heard > QUIET_SECONDS:
                    await self.pubsub.ping()
                    pinged = now
                continue
            heard, pinged = now, None
            channel = message.get("channel")
            name = channel.decode() if isinstance(channel, bytes) else str(channel or "")
            if message["type"] == "message":
                self.layer.received(name, message["data"])
            elif message["type"] == "subscribe":
                self._confirmed(name)
        raise LayerUnavailable("a subscription failed")

    def _confirmed(self, name: str) -> None:
        confirmed = self.confirmations.get(name)
        if confirmed is not None and not confirmed.done():
            confirmed.set_result(True)
        if name == self.layer.inbox and not self.live:
            self.live = True
            if self.failed is not None:
                logger.warning("The channel layer is connected to Redis again")
            self.failed = None
            self.up.set()
            if not self.attempt.done():
                self.attempt.set_result(True)

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        await self.publisher.aclose()
        await self.subscriber.aclose()
