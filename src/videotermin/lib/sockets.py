"""What the project's WebSocket consumers share: Channels' JSON consumer, with a lighter way of
waiting for messages.

Channels' consumer waits with `await_many_dispatch`: for every message, from the page or from
the channel layer, a new task with its own copy of the context, a new `asyncio.wait` with a
waiter, a closure and a copied context for each of the two tasks' callbacks. All of that stays
alive until the socket's next message, so with thousands of sockets in calls the young
generations of Python's collector fill with about a hundred thousand live objects, and every
collection of them stops the process for 50-120 ms (docs/decisions/scale.md). Here the page
and the channel are each waited on by one task for the socket's whole life, and a lock hands
the consumer one message at a time, as Channels does. What a wait still leaves alive is
collected by the clock (YoungCollections).

Nor do these consumers close old database connections before every message, as Channels'
`dispatch` does through the process's one database thread (every relayed signal would queue
behind every database call of every socket): they reach the database only through
`on_database` (lib/database_work.py), which does that itself.
"""

import asyncio
import contextlib
import functools
import gc
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from videotermin.lib.channellayer import LayerUnavailable
from videotermin.lib.events import serving_loop

Message = dict[str, Any]

# How often the young generations are collected while sockets are open (YoungCollections).
YOUNG_EVERY = 0.1


async def dispatch_each(
    sources: Sequence[Callable[[], Awaitable[Message]]],
    dispatch: Callable[[Message], Awaitable[None]],
) -> None:
    """Hand every message of every source to `dispatch`, one at a time, until one of them
    raises (StopConsumer when the socket closed). The first source is awaited in the calling
    task, each other one in a task of its own, cancelled at the end; a failure there ends the
    calling task's waiting and is raised from here."""
    first, *others = sources
    turn = asyncio.Lock()
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    assert current is not None
    helpers = [loop.create_task(_pump(source, dispatch, turn)) for source in others]

    def ended(helper: asyncio.Task) -> None:
        if not helper.cancelled():
            current.cancel()

    for helper in helpers:
        helper.add_done_callback(ended)
    try:
        await _pump(first, dispatch, turn)
    except asyncio.CancelledError:
        for helper in helpers:
            if helper.done() and not helper.cancelled() and helper.exception() is not None:
                raise helper.exception() from None  # type: ignore[misc]
        raise
    finally:
        for helper in helpers:
            helper.remove_done_callback(ended)
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)


async def _pump(
    source: Callable[[], Awaitable[Message]],
    dispatch: Callable[[Message], Awaitable[None]],
    turn: asyncio.Lock,
) -> None:
    while True:
        message = await source()
        async with turn:
            await dispatch(message)
        # Not kept alive while the next one is awaited.
        del message


class YoungCollections:
    """Collects Python's two young generations every YOUNG_EVERY seconds while the event loop
    holds sockets. The collector starts one by itself when 700 more objects were made than
    freed; but a waiting socket frees the objects of its last wait as it makes those of its
    next, so with thousands of sockets in calls the count hardly moves while the young
    generations fill with live waits, and when a collection finally comes it looks at all of
    them at once (50-70 ms with 3,000 sockets in calls, and no signal relayed meanwhile).
    Collected by the clock, each look covers what a tenth of a second made: a few ms."""

    def __init__(self) -> None:
        self.sockets = 0
        self.timer: asyncio.TimerHandle | None = None

    def opened(self) -> None:
        self.sockets += 1
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(YOUNG_EVERY, self._collect)

    def closed(self) -> None:
        self.sockets -= 1
        if self.sockets <= 0 and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _collect(self) -> None:
        if gc.isenabled():
            gc.collect(1)
        self.timer = asyncio.get_running_loop().call_later(YOUNG_EVERY, self._collect)


_collections: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, YoungCollections]" = (
    weakref.WeakKeyDictionary()
)


def young_collections() -> YoungCollections:
    """Those of the running event loop (one in a server; the tests run several)."""
    return _collections.setdefault(asyncio.get_running_loop(), YoungCollections())


# The page comes back: messages for it may have been lost (docs/protocol.md).
CLOSE_RESTART = 1012


class SocketConsumer(AsyncJsonWebsocketConsumer):
    async def __call__(self, scope, receive, send) -> None:
        # As Channels' AsyncConsumer.__call__, with dispatch_each for await_many_dispatch.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        sources = [receive]
        if self.channel_layer is not None:
            try:
                self.channel_name = await self.channel_layer.new_channel()
            except LayerUnavailable:
                # Redis is away: the socket is refused at the door, and the page tries again
                # (readyz tells the operator; nothing is logged per socket).
                await send({"type": "websocket.close", "code": CLOSE_RESTART})
                return
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            sources.append(self.channel_receive)
        self.base_send = send
        # What this socket's database calls publish is handed to this loop (lib/events.py).
        serving_loop.set(asyncio.get_running_loop())
        collections = young_collections()
        collections.opened()
        try:
            with contextlib.suppress(StopConsumer):
                await dispatch_each(sources, self.dispatch)
        finally:
            collections.closed()

    async def dispatch(self, message: Message) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except LayerUnavailable:
            # A message could not reach the other processes: this socket can no longer be sure
            # of what it hears, so its page comes back, as when the layer lost messages.
            await self.layer_lost({"type": "layer.lost"})

    async def layer_lost(self, event: dict[str, Any]) -> None:
        """Messages for this socket may have been lost (the channel layer's connection to Redis
        was): its page comes back and reads everything afresh."""
        await self.close(code=CLOSE_RESTART)
