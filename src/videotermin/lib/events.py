"""Push domain events to WebSocket groups and connections after the transaction commits.

A rolled-back change announces nothing, and a page never hears of a state it cannot read yet.
"""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def agency_group(agency_id: int) -> str:
    return f"agency.{agency_id}"


def room_group(appointment_public_id: Any) -> str:
    return f"room.{appointment_public_id}"


def publish(group: str, event_type: str, **payload: Any) -> None:
    """Send `event_type` to every connection in `group` once the transaction has committed."""
    message = {"type": event_type, **payload}

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)


def send_to(channel: str, event_type: str, **payload: Any) -> None:
    """Send `event_type` to one connection's channel once the transaction has committed."""
    message = {"type": event_type, **payload}

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None and channel:
            async_to_sync(layer.send)(channel, message)

    transaction.on_commit(send)
