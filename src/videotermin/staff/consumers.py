"""The staff day view's WebSocket: pushes appointment changes of the user's own agency."""

import asyncio
import contextlib
from collections import OrderedDict
from typing import Any

from channels.exceptions import ChannelFull
from django.utils import translation

from videotermin.calls import protocol
from videotermin.calls.consumers import ERROR_MESSAGES
from videotermin.lib import ratelimit
from videotermin.lib.database_work import on_database
from videotermin.lib.events import agency_group
from videotermin.lib.i18n import socket_language, staff_language
from videotermin.lib.sockets import SocketConsumer
from videotermin.staff.live import describe_in_agency

# The day view's own protocol: the page sends only {"v": 1, "type": "ping"} every 25 s.
VERSION = 1
MAX_BYTES = 1024
# Per user, over all their day views and every node.
RATE_LIMIT = "30/minute"
# Changes within this time reach a day view as one row per appointment: a citizen's arrival,
# her camera and microphone and her device check come within a second.
DEBOUNCE_SECONDS = 0.25


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


class DayConsumer(SocketConsumer):
    group: str | None = None
    # Appointment -> the last change heard of it that the page has not been sent yet.
    unsent: dict[str, str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        staff = (
            await on_database(lambda: getattr(user, "staff", None))()
            if (user is not None and user.is_authenticated)
            else None
        )
        # An analyst sees no appointments, so no day view either.
        if staff is None or not staff.sees_appointments:
            await self.close(code=4403)
            return
        self.user = user
        # The labels pushed into the day view must speak the language the page was rendered in.
        self.language = staff_language(socket_language(self.scope))
        self.agency = staff.agency_id
        self.group = agency_group(staff.agency_id)
        self.unsent = {}
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with translation.override(self.language):
            if not ratelimit.hit_frame(f"day:user:{self.user.pk}", RATE_LIMIT):
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
        if not self.unsent:
            asyncio.get_running_loop().call_later(DEBOUNCE_SECONDS, self._send_soon)
        self.unsent[event["appointment"]] = event.get("change", "")

    def _send_soon(self) -> None:
        """Time to send: through the socket's own channel, so that the rows go out between its
        other messages, one at a time."""
        self.knocking = asyncio.ensure_future(self._knock())

    async def _knock(self) -> None:
        with contextlib.suppress(ChannelFull):  # a page that far behind is sent what is queued
            await self.channel_layer.send(self.channel_name, {"type": "day.rows"})

    async def day_rows(self, event: dict[str, Any]) -> None:
        unsent, self.unsent = self.unsent, {}
        for public_id, change in unsent.items():
            # The row as it is now, read once per change and language in the process.
            summary = await row(public_id, change, self.language, self.agency)
            if summary is not None:
                await self.send_json({"type": "appointment", "v": 1, "appointment": summary})


# One change, described once per process and language, however many day views are open: the
# first day view to hear of it reads the row, the others get the same answer.
_rows: "OrderedDict[tuple[str, str, str, int], asyncio.Future]" = OrderedDict()
KEEP_ROWS = 256


async def row(public_id: str, change: str, language: str, agency_id: int) -> dict[str, Any] | None:
    key = (public_id, change, language, agency_id)
    future = _rows.get(key) if change else None
    if future is None or future.get_loop() is not asyncio.get_running_loop():
        future = asyncio.get_running_loop().create_future()
        if change:
            _rows[key] = future
            while len(_rows) > KEEP_ROWS:
                _rows.popitem(last=False)
        try:
            future.set_result(await on_database(_describe)(public_id, language, agency_id))
        except Exception as error:
            _rows.pop(key, None)
            future.set_exception(error)
    return await future


def _describe(public_id: str, language: str, agency_id: int) -> dict[str, Any] | None:
    with translation.override(language):
        return describe_in_agency(public_id, agency_id)
