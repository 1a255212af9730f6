"""Push domain events to WebSocket groups and connections after the transaction commits.

A rolled-back change announces nothing, and a page never hears of a state it cannot read yet.
"""

import asyncio
from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def agency_group(agency_id: int) -> str:
    return f"agency.{agency_id}"


def room_group(appointment_public_id: Any) -> str:
    return f"room.{appointment_public_id}"


# The event loop whose sockets a database call works for (set by lib/sockets.py for its
# consumers; the database thread sees it in the call's copy of the context).
serving_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar(
    "serving_loop", default=None
)


def publish(group: str, event_type: str, **payload: Any) -> None:
    """Send `event_type` to every connection in `group` once the transaction has committed."""
    message = {"type": event_type, **payload}
    transaction.on_commit(lambda: _deliver("group_send", group, message))


def send_to(channel: str, event_type: str, **payload: Any) -> None:
    """Send `event_type` to one connection's channel once the transaction has committed."""
    message = {"type": event_type, **payload}
    if channel:
        transaction.on_commit(lambda: _deliver("send", channel, message))


def _deliver(method: str, target: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = serving_loop.get()
    if loop is not None and getattr(layer, "hands_over", False) and not loop.is_closed():
        # The embedded layer delivers at once and cannot fail: the database thread, which
        # every socket of the process waits for, need not wait for the event loop to do it.
        # The loop runs it before it hands the call's result back to the socket.
        loop.call_soon_threadsafe(layer.deliver, method, target, message)
    else:
        async_to_sync(getattr(layer, method))(target, message)
