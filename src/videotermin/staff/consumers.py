"""The staff day view's WebSocket: pushes appointment changes of the user's own agency."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import translation

from videotermin.calls import protocol
from videotermin.calls.consumers import ERROR_MESSAGES
from videotermin.lib import ratelimit
from videotermin.lib.events import agency_group
from videotermin.lib.i18n import socket_language, staff_language
from videotermin.staff.live import describe

# The day view's own protocol: the page sends only {"v": 1, "type": "ping"} every 25 s.
VERSION = 1
MAX_BYTES = 1024
# Per user, over all their day views and every node.
RATE_LIMIT = "30/minute"


def read(text: str | None) -> str:
    """The type of a valid message from the day view's page, or raise protocol.ProtocolError."""
    raw = protocol.load(text, MAX_BYTES)
    if not isinstance(raw, dict) or "v" not in raw or not isinstance(raw.get("type"), str):
        raise protocol.ProtocolError("invalid")
    kind = raw["type"]
    if type(raw["v"]) is not int or raw["v"] != VERSION:
        raise protocol.ProtocolError("unsupported_version", kind)
    if kind != "ping":
        raise protocol.ProtocolError("unknown_type", kind)
    if raw.keys() != {"v", "type"}:
        raise protocol.ProtocolError("invalid", kind)
    return kind


class DayConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        staff = (
            await database_sync_to_async(lambda: getattr(user, "staff", None))()
            if (user is not None and user.is_authenticated)
            else None
        )
        if staff is None:
            await self.close(code=4403)
            return
        self.user = user
        # The labels pushed into the day view must speak the language the page was rendered in.
        self.language = staff_language(socket_language(self.scope))
        self.group = agency_group(staff.agency_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with translation.override(self.language):
            if not await ratelimit.hit(f"day:user:{self.user.pk}", RATE_LIMIT):
                await self._error("rate_limited")
                return
            try:
                read(text_data)
            except protocol.ProtocolError as error:
                await self._error(error.code, error.ref)
                return
        await self.send_json({"type": "pong", "v": VERSION})

    async def _error(self, code: str, ref: str | None = None) -> None:
        message = ERROR_MESSAGES[code]()
        await self.send_json(
            {"type": "error", "v": VERSION, "code": code, "message": message, "ref": ref}
        )

    async def appointment_changed(self, event: dict[str, Any]) -> None:
        summary = await database_sync_to_async(self._describe)(event["appointment"])
        if summary is not None:
            await self.send_json({"type": "appointment", "v": 1, "appointment": summary})

    def _describe(self, public_id: str) -> dict[str, Any] | None:
        with translation.override(self.language):
            return describe(public_id, self.user)
