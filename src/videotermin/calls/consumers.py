"""The room's WebSocket: authenticate, validate, hand to the services, relay signaling."""

import secrets
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from videotermin.appointments.models import Appointment, Participant
from videotermin.appointments.services import NotAllowed
from videotermin.calls import ice, protocol, services
from videotermin.calls.state import Member, find_member, room_state
from videotermin.lib.events import publish, room_group
from videotermin.lib.i18n import socket_language

# Close codes the browser client understands (docs/protocol.md).
CLOSE_FORBIDDEN = 4403
CLOSE_SUPERSEDED = 4409
CLOSE_CLOSED = 4410

ERROR_MESSAGES = {
    "invalid": lambda: _("The message could not be understood."),
    "too_large": lambda: _("The message is too large."),
    "unsupported_version": lambda: _("This version of the protocol is not supported."),
    "unknown_type": lambda: _("This kind of message is not known."),
    "forbidden": lambda: _("You are not allowed to do this."),
    "rate_limited": lambda: _("Too many messages; please slow down."),
}


class RateLimit:
    """A token bucket: bursts of ICE candidates pass, floods do not."""

    def __init__(self, rate: float = 20.0, burst: float = 100.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = burst, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class RoomConsumer(AsyncJsonWebsocketConsumer):
    member: Member
    # False until the member is in the room, and again once the room closed for this connection.
    active = False

    async def connect(self) -> None:
        appointment_id = self.scope["url_route"]["kwargs"]["appointment"]
        member = await database_sync_to_async(find_member)(
            appointment_id, self.scope.get("user"), self.scope.get("session")
        )
        if member is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.member = member
        # Errors speak the page's language: the citizen's appointment's, the counselor's browser's.
        self.language = socket_language(
            self.scope, None if member.is_counselor else member.participant.language
        )
        self.session = secrets.token_hex(8)
        self.limit = RateLimit()
        self.group = room_group(self.member.appointment.public_id)
        await self.accept()
        try:
            await database_sync_to_async(self._arrive)()
        except NotAllowed as reason:
            await self._error("not_allowed", str(reason))
            await self.close(code=CLOSE_CLOSED)
            return
        self.active = True
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(
            {
                "type": "welcome",
                "v": protocol.VERSION,
                "session": self.session,
                "self": {
                    "role": "counselor" if member.is_counselor else self._own_participant().role,
                    "id": None if member.is_counselor else self._me(),
                },
                # Fresh TURN credentials on every connection: the page's may have expired.
                "ice": self._ice(),
            }
        )
        await self._send_state()

    def _ice(self) -> dict[str, Any]:
        """ICE servers with credentials of this member's own, and the agency's relay policy."""
        member = self.member
        member_id = ice.staff_member_id(member.user) if member.is_counselor else self._me()
        return ice.ice_config(member.appointment.agency, member_id)

    def _arrive(self) -> None:
        member = self.member
        headers = dict(self.scope.get("headers", []))
        user_agent = headers.get(b"user-agent", b"").decode(errors="replace")
        if member.is_counselor:
            Appointment.objects.filter(pk=member.appointment.pk).update(
                counselor_session=self.session, counselor_screen_on=False
            )
            services.announce(member.appointment)
            publish(self.group, "room.superseded", who="counselor", session=self.session)
        else:
            participant = self._own_participant()
            Participant.objects.filter(pk=participant.pk).update(session=self.session)
            services.arrive(participant, user_agent=user_agent)
            publish(
                self.group, "room.superseded", who=str(participant.public_id), session=self.session
            )

    async def disconnect(self, code: int) -> None:
        if not self.active:
            return
        self.active = False
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await database_sync_to_async(self._depart)()

    def _depart(self) -> None:
        member = self.member
        if member.is_counselor:
            if Appointment.objects.filter(
                pk=member.appointment.pk, counselor_session=self.session
            ).update(counselor_session=""):
                services.announce(member.appointment)
        else:
            participant = self._own_participant()
            if Participant.objects.filter(pk=participant.pk, session=self.session).exists():
                services.depart(participant)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.active:
            return
        with translation.override(self.language):
            if not self.limit.allow():
                await self._error("rate_limited")
                return
            try:
                message = protocol.parse(text_data, settings.SIGNALING_MAX_MESSAGE_BYTES)
            except protocol.ProtocolError as error:
                await self._error(error.code, ref=error.ref)
                return
            handler = getattr(self, f"got_{message.type}")
            try:
                await handler(message)
            except NotAllowed as reason:
                await self._error("not_allowed", str(reason), ref=message.type)

    # Inbound messages -------------------------------------------------------------------------

    async def got_ping(self, message: protocol.Ping) -> None:
        await self.send_json({"type": "pong", "v": protocol.VERSION})

    async def got_ice_refresh(self, message: protocol.IceRefresh) -> None:
        # The page asks before its TURN credentials expire; running calls keep their relay.
        await self.send_json({"type": "ice", "v": protocol.VERSION, "ice": self._ice()})

    async def got_status(self, message: protocol.Status) -> None:
        if message.screen is not None:
            await database_sync_to_async(self._share_screen)(message.screen)
            if message.model_fields_set == {"v", "type", "screen"}:
                return
        if self.member.is_counselor:
            return
        if message.network is not None:
            # Data minimisation: the sample goes to the counselor's page and is never stored.
            await self.channel_layer.group_send(
                self.group,
                {
                    "type": "room.network",
                    "participant": self._me(),
                    "name": self._own_participant().name,
                    "session": self.session,
                    "network": message.network.model_dump(),
                },
            )
            if not message.model_fields_set - {"v", "type", "network"}:
                return
        await database_sync_to_async(services.update_status)(
            self._own_participant(),
            camera=message.camera,
            microphone=message.microphone,
            check=message.check.model_dump() if message.check else None,
        )

    async def got_signal(self, message: protocol.Signal) -> None:
        if (message.description is None) == (message.candidate is None):
            await self._error("invalid", ref="signal")
            return
        if not await database_sync_to_async(self._may_signal)():
            raise NotAllowed(_("You are not in the call yet."))
        await self.channel_layer.group_send(
            self.group,
            {
                "type": "room.signal",
                "to": message.to,
                "from": self.session,
                "description": message.description.model_dump() if message.description else None,
                "candidate": message.candidate.model_dump() if message.candidate else None,
            },
        )

    def _may_signal(self) -> bool:
        if self.member.is_counselor:
            return True
        participant = Participant.objects.get(pk=self._own_participant().pk)
        return participant.presence == Participant.Presence.IN_CALL

    async def got_admit(self, message: protocol.Admit) -> None:
        participant = await self._participant(message.participant)
        await database_sync_to_async(services.admit)(participant, by=self._counselor())

    def _share_screen(self, sharing: bool) -> None:
        if self.member.is_counselor:
            services.counselor_shares_screen(self.member.appointment, sharing)
        else:
            services.share_screen(self._own_participant(), sharing)

    async def got_screen(self, message: protocol.Screen) -> None:
        participant = await self._participant(message.participant)
        await database_sync_to_async(services.allow_screen_sharing)(
            participant, message.allowed, by=self._counselor()
        )

    async def got_identity(self, message: protocol.Identity) -> None:
        await database_sync_to_async(services.confirm_identity)(
            self.member.appointment, by=self._counselor()
        )

    async def got_end(self, message: protocol.End) -> None:
        await database_sync_to_async(services.end_call)(
            self.member.appointment, by=self._counselor()
        )

    async def got_leave(self, message: protocol.Leave) -> None:
        if self.member.is_counselor:
            await database_sync_to_async(services.end_call)(
                self.member.appointment, by=self.member.user
            )
        else:
            await database_sync_to_async(services.leave)(self._own_participant())

    # Group events -----------------------------------------------------------------------------

    async def room_changed(self, event: dict[str, Any]) -> None:
        await self._send_state()

    async def room_admitted(self, event: dict[str, Any]) -> None:
        if not self.member.is_counselor and event["participant"] == self._me():
            await self.send_json({"type": "admitted", "v": protocol.VERSION})

    async def room_network(self, event: dict[str, Any]) -> None:
        if self.member.is_counselor:
            payload = {key: event[key] for key in ("participant", "name", "session", "network")}
            await self.send_json({"type": "network", "v": protocol.VERSION, **payload})

    async def room_signal(self, event: dict[str, Any]) -> None:
        if event["to"] != self.session:
            return
        payload = {"type": "signal", "v": protocol.VERSION, "from": event["from"]}
        for key in ("description", "candidate"):
            if event.get(key):
                payload[key] = event[key]
        await self.send_json(payload)

    async def room_superseded(self, event: dict[str, Any]) -> None:
        if event["who"] == self._me() and event["session"] != self.session:
            await self.send_json({"type": "closed", "v": protocol.VERSION, "reason": "superseded"})
            self.active = False
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=CLOSE_SUPERSEDED)

    async def room_closed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "closed", "v": protocol.VERSION, "reason": event["reason"]})
        self.active = False
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.close(code=CLOSE_CLOSED)

    # Helpers ----------------------------------------------------------------------------------

    def _own_participant(self) -> Participant:
        participant = self.member.participant
        if participant is None:
            raise NotAllowed(_("Only a participant can do this."))
        return participant

    def _me(self) -> str:
        return "counselor" if self.member.is_counselor else str(self._own_participant().public_id)

    def _counselor(self) -> Any:
        if not self.member.is_counselor:
            raise NotAllowed(_("Only the counselor can do this."))
        return self.member.user

    async def _participant(self, public_id) -> Participant:
        self._counselor()
        participant = await database_sync_to_async(
            Participant.objects.filter(
                appointment=self.member.appointment, public_id=public_id
            ).first
        )()
        if participant is None:
            raise NotAllowed(_("This person is not part of this appointment."))
        return participant

    async def _send_state(self) -> None:
        state = await database_sync_to_async(room_state)(
            self.member.appointment.pk, for_counselor=self.member.is_counselor
        )
        await self.send_json(state)

    async def _error(self, code: str, message: str | None = None, ref: str | None = None) -> None:
        text = message or ERROR_MESSAGES.get(code, ERROR_MESSAGES["invalid"])()
        await self.send_json(
            {"type": "error", "v": protocol.VERSION, "code": code, "message": text, "ref": ref}
        )
