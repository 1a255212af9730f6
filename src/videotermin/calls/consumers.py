"""The room's WebSocket (docs/protocol.md, version 2): authenticate, validate, hand decisions to
the services, route signals to one member's connection.

The consumer keeps the room's members as the services last published them, so relaying a signal
or a network sample and passing on a member's change cost no database query.
"""

import asyncio
import contextlib
import logging
import re
import secrets
import time
import weakref
from typing import Any
from urllib.parse import parse_qs

from channels.exceptions import ChannelFull, StopConsumer
from django.conf import settings
from django.db import DatabaseError
from django.utils import translation
from django.utils.translation import gettext as _

from videotermin.appointments import services as appointments
from videotermin.appointments.models import MAX_MEMBERS, Member
from videotermin.appointments.services import NotAllowed
from videotermin.calls import ice, presence, protocol, services
from videotermin.calls.state import appointment_entry
from videotermin.lib import ratelimit
from videotermin.lib.channellayer import LayerUnavailable
from videotermin.lib.database_work import on_database
from videotermin.lib.events import room_group
from videotermin.lib.i18n import socket_language, staff_language
from videotermin.lib.sockets import CLOSE_RESTART, SocketConsumer
from videotermin.monitoring import metrics
from videotermin.stats import services as stats

logger = logging.getLogger(__name__)


# Close codes the browser client understands (docs/protocol.md).
CLOSE_GONE = 1001  # the page went away
CLOSE_SERVER_ERROR = 1011  # the page reconnects
CLOSE_FORBIDDEN = 4403
CLOSE_SUPERSEDED = 4409
CLOSE_CLOSED = 4410
# A page pings every few seconds (protocol.js), a page in a background tab at least once a minute;
# one silent for this long is gone, however its socket was cut, and its member no longer
# connected. (uvicorn's own WebSocket pings, --ws-ping-interval, notice a dead network sooner.)
IDLE_SECONDS = 75
# An admission first asks the waiting person's socket, on whichever node it is, whether it is
# still there: a node killed a moment ago leaves its members "waiting" until its lease runs out
# (calls/presence.py), and nobody whose page is gone may be let in meanwhile.
PROBE_SECONDS = 2.0
SESSION = re.compile(r"[0-9a-f]{16}")

ERROR_MESSAGES = {
    "invalid": lambda: _("The message could not be understood."),
    "too_large": lambda: _("The message is too large."),
    "unsupported_version": lambda: _("This version of the protocol is not supported."),
    "unknown_type": lambda: _("This kind of message is not known."),
    "forbidden": lambda: _("You are not allowed to do this."),
    "rate_limited": lambda: _("Too many messages; please slow down."),
    "unavailable": lambda: _("The server could not do this just now. Please try again."),
}


# Per member, over all its connections and every node: a reconnect does not start afresh.
# Signals count per member and recipient: a page sets up a peer connection with each other
# person in the call, and its offers, answers and ICE candidates to five people at once must
# not crowd each other out (a dropped candidate or answer leaves a pair without media). The
# burst lets one connection's candidates through at once; on average 20 messages a second.
RATE_LIMIT = "100/5 seconds"
SIGNAL_LIMIT = "100/5 seconds"
# Every frame, before it is parsed: what six people's signals and the rest can add up to.
FLOOD_LIMIT = f"{100 * MAX_MEMBERS}/5 seconds"


PONG = {"type": "websocket.send", "text": protocol.PONG_FRAME}
PINGS = metrics.signaling_messages.labels("ping")


class Doorbell:
    """What a room socket's PingAnswering knows of its consumer: whom to ask about a ping."""

    consumer: "RoomConsumer | None" = None


class PingAnswering:
    """In front of the room's consumer: a page's ping, written as protocol.js writes it, is
    answered here, where the frame arrives, once the consumer says so (`RoomConsumer.pinged`:
    the socket is in the room and within its limits). Most frames of an idle room are pings
    (10,000 idle pages send 3,300 a second): none of them passes through Channels' dispatch, a
    parser or a translation. Anything else, and a ping the consumer does not answer, goes on to
    the consumer as usual."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        bell = scope["videotermin.doorbell"] = Doorbell()

        async def receiving():
            while True:
                event = await receive()
                if (
                    event.get("text") == protocol.PING_FRAME
                    and bell.consumer is not None
                    and bell.consumer.pinged()
                ):
                    await send(PONG)
                    continue
                return event

        return await self.inner(scope, receiving, send)


class SilenceWatch:
    """Closes the room sockets whose pages have gone silent for IDLE_SECONDS: cut off without a
    close (a dead network, a sleeping laptop), one would otherwise hold its member "in the call"
    for minutes. One task per event loop looks at all of them every IDLE_SECONDS / 4; a task per
    socket cost a timer and a kilobyte or two for each of thousands."""

    def __init__(self) -> None:
        self.sockets: set[RoomConsumer] = set()
        self.task: asyncio.Task | None = None
        # The closings under way (the event loop keeps only weak references to its tasks).
        self.closing: set[asyncio.Task] = set()

    def add(self, consumer: "RoomConsumer") -> None:
        self.sockets.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._watch())

    def discard(self, consumer: "RoomConsumer") -> None:
        self.sockets.discard(consumer)

    async def _watch(self) -> None:
        while self.sockets:
            await asyncio.sleep(IDLE_SECONDS / 4)
            now = time.monotonic()
            for consumer in [c for c in self.sockets if now - c.heard > IDLE_SECONDS]:
                self.sockets.discard(consumer)
                closing = asyncio.get_running_loop().create_task(consumer.went_silent())
                self.closing.add(closing)
                closing.add_done_callback(self.closing.discard)


_watches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SilenceWatch]" = (
    weakref.WeakKeyDictionary()
)


def silence_watch() -> SilenceWatch:
    """The watch of the running event loop (one in a server; the tests run several)."""
    return _watches.setdefault(asyncio.get_running_loop(), SilenceWatch())


class RoomConsumer(SocketConsumer):
    member: Member
    # False until the member is in the room, and again once the room closed for this connection.
    active = False
    # Whether this socket counts for the process's lease (calls/presence.py).
    renewing = False
    # The quality mode this page last said it sends in (network samples).
    sending_mode: str | None = None
    # When the page last sent anything (time.monotonic()).
    heard = 0.0
    # The room as last published: member id -> server-side delta (calls/state.room_event).
    table: dict[str, dict[str, Any]]
    # The members this page has been told about (what it may see of the room).
    shown: set[str]

    async def connect(self) -> None:
        appointment_id = self.scope["url_route"]["kwargs"]["appointment"]
        self.language = socket_language(self.scope)
        self.session = secrets.token_hex(8)
        # A page that lost its socket asks to go on under its session (services.connect).
        asked = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("resume", [""])
        self.resume = asked[0] if SESSION.fullmatch(asked[0]) else ""
        self.group = room_group(appointment_id)
        self.table, self.shown = {}, set()
        await presence.start()
        self.renewing = True
        try:
            # Join the group before reading the room: no change can fall between the two.
            await self.channel_layer.group_add(self.group, self.channel_name)
            arrived = await on_database(self._arrive)(appointment_id)
        except NotAllowed as reason:
            await self._step_out()
            await self._refuse(reason)
            return
        except Exception as error:
            # Not in the group, or stored but not announced (the channel layer failed after the
            # commit): undo the connection, so no member stays "connected" through a socket that
            # is gone, and let the page come back when the layer does. Redis being away is told
            # by readyz, not by a line per socket.
            away = isinstance(error, LayerUnavailable)
            if not away:
                logger.warning("A room socket could not join; its page reconnects", exc_info=True)
            await self._step_out()
            with contextlib.suppress(Exception):
                await on_database(services.disconnect_channel)(
                    appointment_id, channel=self.channel_name
                )
            await self.accept()
            await self.close(code=CLOSE_RESTART if away else CLOSE_SERVER_ERROR)
            return
        if arrived is None:
            await self._step_out()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        member, members = arrived
        self.member = member
        self.me = str(member.public_id)
        # Errors speak the page's language: the participant's, the staff member's browser's.
        self.language = socket_language(self.scope, None if member.is_staff else member.language)
        if member.is_staff:
            self.language = staff_language(self.language)
        self.session = member.session
        self.limit_key = f"room:member:{self.me}"
        self.flood_key = f"{self.limit_key}:frames"
        await self.accept()
        self.active = True
        self.heard = time.monotonic()
        silence_watch().add(self)
        if (bell := self.scope.get("videotermin.doorbell")) is not None:
            bell.consumer = self
        for event in members:
            self._keep(event)
        visible = [event for event in members if self._visible(event)]
        self.shown = {event["member"]["id"] for event in visible}
        own = self.table[self.me]["member"]
        await self.send_json(
            {
                "type": "joined",
                "v": protocol.VERSION,
                "session": self.session,
                "self": {"id": self.me, "role": own["role"], "may": own["may"]},
                "appointment": appointment_entry(member.appointment),
                "members": [self._for_page(event) for event in visible],
                # Fresh TURN credentials on every connection: the page's may have expired.
                "ice": self._ice(),
            }
        )

    async def _step_out(self) -> None:
        """A socket that is not let in leaves the room's group and the lease again."""
        await self.channel_layer.group_discard(self.group, self.channel_name)
        self._stop_renewing()

    async def _refuse(self, reason: NotAllowed) -> None:
        await self.accept()
        # The reason is lazy: it is put into words here, in the page's language.
        with translation.override(self.language):
            await self._error("not_allowed", str(reason))
        await self.close(code=CLOSE_CLOSED)

    def _arrive(self, appointment_id: str) -> tuple[Member, list[dict[str, Any]]] | None:
        headers = dict(self.scope.get("headers", []))
        return services.arrive(
            appointment_id,
            user=self.scope.get("user"),
            browser_session=self.scope.get("session"),
            session=self.session,
            channel=self.channel_name,
            user_agent=headers.get(b"user-agent", b"").decode(errors="replace"),
            resume=self.resume,
            node=presence.NODE,
        )

    def _ice(self) -> dict[str, Any]:
        """ICE servers with credentials of this member's own, and the agency's relay policy."""
        member = self.member
        member_id = ice.staff_member_id(member.user) if member.is_staff else self.me
        return ice.ice_config(member.appointment.agency, member_id)

    async def disconnect(self, code: int) -> None:
        self._stop_renewing()
        if not self.active:
            return
        self._leave()
        await self.channel_layer.group_discard(self.group, self.channel_name)
        with contextlib.suppress(LayerUnavailable):
            # Stored as gone; should Redis fail to announce it, the room's other pages lost it
            # too and read the room afresh when they come back.
            await on_database(services.disconnect)(
                self.member, channel=self.channel_name, coming_back=code == CLOSE_RESTART
            )

    async def layer_lost(self, event: dict[str, Any]) -> None:
        await self.disconnect(CLOSE_RESTART)
        await self.close(code=CLOSE_RESTART)

    def pinged(self) -> bool:
        """A ping arrived (PingAnswering): whether it may be answered at once, counted against
        the limits like every message. If not, it takes the usual way and is refused there in
        the page's language (counted once more, which only ends a flood sooner)."""
        if not self.active:
            return False
        self.heard = time.monotonic()
        if ratelimit.hit_frame(self.flood_key, FLOOD_LIMIT) and ratelimit.hit_frame(
            self.limit_key, RATE_LIMIT
        ):
            PINGS.inc()
            return True
        return False

    def _leave(self) -> None:
        """The socket is no longer in the room: nothing more is answered or watched for it."""
        self.active = False
        silence_watch().discard(self)
        if (bell := self.scope.get("videotermin.doorbell")) is not None:
            bell.consumer = None

    async def went_silent(self) -> None:
        """The page said nothing for IDLE_SECONDS (SilenceWatch): its socket is gone."""
        await self.disconnect(CLOSE_GONE)
        await self.close(code=CLOSE_GONE)

    async def dispatch(self, message: dict[str, Any]) -> None:
        try:
            await super().dispatch(message)
        except StopConsumer:
            raise
        except OSError:
            # The page went while a message to it was on its way (a tab closed mid-call): the
            # end of its socket, not a failure. Its member leaves as on any disconnect.
            await self.disconnect(CLOSE_GONE)
        except Exception:
            # A consumer that dies of a bug is never told its socket closed: without this, its
            # member would stay "waiting" or "in call" with a dead session, a ghost to admit.
            logger.exception("The room socket failed; its member is disconnected")
            await self.disconnect(CLOSE_SERVER_ERROR)
            await self.close(code=CLOSE_SERVER_ERROR)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.active:
            return
        self.heard = time.monotonic()
        with translation.override(self.language):
            if not ratelimit.hit_frame(self.flood_key, FLOOD_LIMIT):
                await self._error("rate_limited")
                return
            try:
                message = protocol.parse(text_data, settings.SIGNALING_MAX_MESSAGE_BYTES)
            except protocol.ProtocolError as error:
                if ratelimit.hit_frame(self.limit_key, RATE_LIMIT):
                    await self._error(error.code, ref=error.ref)
                else:
                    await self._error("rate_limited")
                return
            if isinstance(message, protocol.Signal):
                allowed = ratelimit.hit_frame(f"{self.limit_key}:to:{message.to}", SIGNAL_LIMIT)
            else:
                allowed = ratelimit.hit_frame(self.limit_key, RATE_LIMIT)
            if not allowed:
                await self._error("rate_limited", ref=message.type)
                return
            handler = getattr(self, f"got_{message.type}")
            metrics.received(self, message)
            try:
                await handler(message)
            except NotAllowed as reason:
                await self._error("not_allowed", str(reason), ref=message.type)
            except DatabaseError:
                # The database is away for a moment: this one message fails, the socket and
                # the call stay (the services' transactions left nothing half done).
                logger.warning("A room message failed on the database", exc_info=True)
                await self._error("unavailable", ref=message.type)

    # Inbound messages -------------------------------------------------------------------------

    async def got_ping(self, message: protocol.Ping) -> None:
        await self.send(text_data=protocol.PONG_FRAME)

    async def got_ice_refresh(self, message: protocol.IceRefresh) -> None:
        # The page asks before its TURN credentials expire; running calls keep their relay.
        await self.send_json({"type": "ice", "v": protocol.VERSION, "ice": self._ice()})

    async def got_status(self, message: protocol.Status) -> None:
        if message.network is not None:
            await self._relay_network(message.network.model_dump())
            await self._note_mode(message.network.mode)
        fields = {
            "camera": message.camera,
            "microphone": message.microphone,
            "screen": message.screen,
            "check": message.check.model_dump() if message.check else None,
        }
        if any(value is not None for value in fields.values()):
            self.member = await on_database(services.update_status)(self.member, **fields)

    async def _note_mode(self, mode: str) -> None:
        """The quality a page of someone invited by link sends in, for the consultation's
        anonymous fact: a write per change of mode, none per sample."""
        if self.member.is_staff or mode == self.sending_mode:
            return
        await on_database(stats.note_sending_mode)(
            self.member.appointment_id, previous=self.sending_mode, mode=mode
        )
        self.sending_mode = mode

    async def _relay_network(self, network: dict[str, Any]) -> None:
        """A live network sample goes to the staff's pages only, and is never stored."""
        for member_id, event in self.table.items():
            if member_id == self.me or event["member"]["role"] not in Member.STAFF_ROLES:
                continue
            if event["channel"]:
                await self._pass_on(
                    event["channel"],
                    {
                        "type": "room.network",
                        "member": self.me,
                        "session": self.session,
                        "network": network,
                    },
                )

    async def _pass_on(self, channel: str, message: dict[str, Any]) -> None:
        """Relay to another member's connection; when its queue is full (a page that does not
        keep up), this one message is dropped, not the sender's socket."""
        try:
            await self.channel_layer.send(channel, message)
        except ChannelFull:
            metrics.dropped(message["type"])
            logger.warning(
                "A relayed %s was dropped: the receiving connection is behind", message["type"]
            )

    async def got_signal(self, message: protocol.Signal) -> None:
        if (message.description is None) == (message.candidate is None):
            await self._error("invalid", ref="signal")
            return
        if not self._in_call(self.me, self.session):
            raise NotAllowed(_("You are not in the call yet."))
        target = next(
            (
                event
                for member_id, event in self.table.items()
                if member_id != self.me and event["member"]["session"] == message.to
            ),
            None,
        )
        if target is None or not target["channel"]:
            raise NotAllowed(_("This person is not in the call."))
        # The server says who sends: the sender's session and member as it knows them.
        await self._pass_on(
            target["channel"],
            {
                "type": "room.signal",
                "from": self.session,
                "member": self.me,
                "description": message.description.model_dump() if message.description else None,
                "candidate": message.candidate.model_dump() if message.candidate else None,
            },
        )

    async def got_admit(self, message: protocol.Admit) -> None:
        if not await self._answers(str(message.member)):
            raise NotAllowed(_("This person is not connected at the moment."))
        await self._act(services.admit, message.member)

    async def _answers(self, member_id: str) -> bool:
        """Whether the member's socket answers through the channel layer within PROBE_SECONDS.
        A member without a socket is left to the services, which refuse with their own reason."""
        event = self.table.get(member_id)
        channel = event["channel"] if event is not None else ""
        if not channel:
            return True
        reply = await self.channel_layer.new_channel()
        try:
            await self.channel_layer.send(channel, {"type": "room.probe", "reply": reply})
            await asyncio.wait_for(self.channel_layer.receive(reply), PROBE_SECONDS)
        except (TimeoutError, ChannelFull):
            # Nobody reads that channel any more (a full one has had no reader for a while).
            return False
        return True

    async def got_identity(self, message: protocol.Identity) -> None:
        await self._act(services.confirm_identity, message.member)

    async def got_permissions(self, message: protocol.Permissions) -> None:
        allowed = {
            name: value
            for name, value in (
                ("share_screen", message.screen),
                ("send_documents", message.documents),
                ("chat", message.chat),
            )
            if value is not None
        }
        await self._act(services.set_permissions, message.member, **allowed)

    async def got_remove(self, message: protocol.Remove) -> None:
        await self._act(appointments.remove_member, message.member)

    async def got_handover(self, message: protocol.HandOver) -> None:
        def hand_over() -> None:
            target = self._member(message.member)
            appointments.hand_over(self.member.appointment, to=target, by=self.member)

        await on_database(hand_over)()

    async def got_end(self, message: protocol.End) -> None:
        await on_database(services.end_call)(self.member.appointment, by=self.member)

    async def got_leave(self, message: protocol.Leave) -> None:
        await on_database(services.leave)(self.member)

    async def got_media_started(self, message: protocol.MediaStarted) -> None:
        await on_database(metrics.media_started)(self.member)

    async def _act(self, service, member_id, **kwargs: Any) -> None:
        """Call a service on another member of this room, acting as this connection's member."""

        def act() -> None:
            service(self._member(member_id), by=self.member, **kwargs)

        await on_database(act)()

    def _member(self, public_id) -> Member:
        member = (
            Member.objects.select_related("appointment__agency", "user")
            .filter(appointment_id=self.member.appointment_id, public_id=public_id)
            .first()
        )
        if member is None:
            raise NotAllowed(_("This person is not part of this appointment."))
        return member

    # Events from the services and from other connections ----------------------------------

    async def room_member(self, event: dict[str, Any]) -> None:
        member_id = event["member"]["id"]
        known = self.table.get(member_id)
        if known is not None and event["version"] <= known["version"]:
            return  # older than what this page already knows
        if event["op"] == "left":
            self.table.pop(member_id, None)
        else:
            self._keep(event)
        was_shown = member_id in self.shown
        if event["op"] != "left" and self._visible(event):
            self.shown.add(member_id)
            op = "changed" if was_shown else "added"
            await self._send_member(op, self._for_page(event))
        elif was_shown:
            self.shown.discard(member_id)
            await self._send_member("left", {"id": member_id})

    async def _send_member(self, op: str, member: dict[str, Any]) -> None:
        await self.send_json({"type": "member", "v": protocol.VERSION, "op": op, "member": member})

    async def room_appointment(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {"type": "appointment", "v": protocol.VERSION, "appointment": event["appointment"]}
        )

    async def room_signal(self, event: dict[str, Any]) -> None:
        # Only from a member who is in the call with that very connection, as the server knows.
        if not self._in_call(event["member"], event["from"]) or not self._in_call(
            self.me, self.session
        ):
            return
        payload = {
            "type": "signal",
            "v": protocol.VERSION,
            "from": event["from"],
            "member": event["member"],
        }
        for key in ("description", "candidate"):
            if event.get(key):
                payload[key] = event[key]
        await self.send_json(payload)

    async def room_network(self, event: dict[str, Any]) -> None:
        if self.member.is_staff and event["member"] in self.table:
            payload = {key: event[key] for key in ("member", "session", "network")}
            await self.send_json({"type": "network", "v": protocol.VERSION, **payload})

    async def room_probe(self, event: dict[str, Any]) -> None:
        """Another connection asks whether this socket is still there (`_answers`)."""
        if self.active:
            await self.channel_layer.send(event["reply"], {"type": "room.probe.answer"})

    async def room_kicked(self, event: dict[str, Any]) -> None:
        """This connection must go: superseded by a newer one, removed, or left."""
        await self._close_for_good(
            event["reason"], CLOSE_SUPERSEDED if event["reason"] == "superseded" else CLOSE_CLOSED
        )

    async def room_closed(self, event: dict[str, Any]) -> None:
        await self._close_for_good(event["reason"], CLOSE_CLOSED)

    async def _close_for_good(self, reason: str, code: int) -> None:
        if not self.active:
            return
        await self.send_json({"type": "closed", "v": protocol.VERSION, "reason": reason})
        self._leave()
        self._stop_renewing()
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.close(code=code)

    # Helpers ----------------------------------------------------------------------------------

    def _stop_renewing(self) -> None:
        if self.renewing:
            self.renewing = False
            presence.stop()

    def _keep(self, event: dict[str, Any]) -> None:
        """A member's delta into the table. Only the staff's pages are shown the device details:
        others keep none (thousands of sockets keep one delta for each member of their room).
        The event itself is left as it came: a layer may hand one object to several sockets."""
        if not self.member.is_staff and "details" in event:
            event = {key: value for key, value in event.items() if key != "details"}
        self.table[event["member"]["id"]] = event

    def _in_call(self, member_id: str, session: str) -> bool:
        event = self.table.get(member_id)
        return event is not None and event["member"]["session"] == session

    def _visible(self, event: dict[str, Any]) -> bool:
        """Staff see everyone; others see the staff, themselves and who was let in."""
        entry = event["member"]
        return self.member.is_staff or entry["id"] == self.me or entry["admitted"]

    def _for_page(self, event: dict[str, Any]) -> dict[str, Any]:
        """A member as this page may see it: the device details only for staff."""
        if self.member.is_staff:
            return {**event["member"], **event["details"]}
        return event["member"]

    async def _error(self, code: str, message: str | None = None, ref: str | None = None) -> None:
        text = message or ERROR_MESSAGES.get(code, ERROR_MESSAGES["invalid"])()
        metrics.refused(code)
        await self.send_json(
            {"type": "error", "v": protocol.VERSION, "code": code, "message": text, "ref": ref}
        )
