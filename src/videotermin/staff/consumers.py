"""The staff day view's WebSocket: pushes appointment changes of the user's own agency."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import translation

from videotermin.lib.events import agency_group
from videotermin.lib.i18n import socket_language
from videotermin.staff.live import describe


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
        self.language = socket_language(self.scope)
        self.group = agency_group(staff.agency_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "v": 1})

    async def appointment_changed(self, event: dict[str, Any]) -> None:
        summary = await database_sync_to_async(self._describe)(event["appointment"])
        if summary is not None:
            await self.send_json({"type": "appointment", "v": 1, "appointment": summary})

    def _describe(self, public_id: str) -> dict[str, Any] | None:
        with translation.override(self.language):
            return describe(public_id, self.user)
