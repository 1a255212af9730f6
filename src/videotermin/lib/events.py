"""Push domain events to the WebSocket groups after the transaction that caused them commits."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def agency_group(agency_id: int) -> str:
    return f"agency.{agency_id}"


def room_group(appointment_public_id: Any) -> str:
    return f"room.{appointment_public_id}"


def publish(group: str, event_type: str, **payload: Any) -> None:
    """Send `event_type` to `group` once the current transaction has committed."""
    message = {"type": event_type, **payload}

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)
