"""Business rules of the waiting room and the call: presence, admission, identity check,
permissions, leaving and the end.

Each takes the member who acts (`by=`), runs in a transaction, is audited where it is a decision
of somebody's, and tells the room after the commit (calls/state.py).
"""

from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.appointments.models import Appointment, Member
from videotermin.appointments.services import (
    NotAllowed,
    announce,
    can_enter,
    is_host,
    join_as_staff,
    locked_member,
    save_member,
)
from videotermin.audit.services import record
from videotermin.calls import presence
from videotermin.calls.state import (
    close_connection,
    close_room,
    opened_member,
    publish_appointment,
    snapshot,
    staff_member,
)
from videotermin.lib.useragent import describe_user_agent
from videotermin.monitoring.metrics import admitted, join_failed
from videotermin.resources import licences
from videotermin.stats.services import record_fact
from videotermin.webhooks.outbox import emit

Presence = Member.Presence
PERMISSIONS = ("share_screen", "send_documents", "chat")


def find_member(appointment_id: str, user, session) -> Member | None:
    """The member a room socket speaks for: a staff user of the appointment's agency (who
    joins as host or colleague), or a participant whose link this browser session opened (one
    query: the member with its appointment and agency)."""
    staff = getattr(user, "staff", None) if user is not None and user.is_authenticated else None
    if staff is not None:
        member = staff_member(appointment_id, user)
        if (
            member is not None
            and member.removed_at is None
            and staff.sees_appointments
            and staff.agency_id == member.appointment.agency_id
        ):
            # Already in the room (the host since the booking): nothing to join.
            return member
        appointment = Appointment.objects.filter(public_id=appointment_id).first()
        if appointment is None or staff.agency_id != appointment.agency_id:
            return None
        joined = join_as_staff(appointment, user)
        return Member.objects.select_related("appointment__agency", "user").get(pk=joined.pk)
    # People invited by link have no user account: nothing to join for it.
    return opened_member(appointment_id, session)


@transaction.atomic
def arrive(
    appointment_id: str, *, user, browser_session, **connection: str
) -> tuple[Member, list[dict[str, Any]]] | None:
    """A page opened the room's socket: the member it speaks for, connected (`connect`, with
    the `connection`'s session, channel, user agent, resume and node), and the room as every
    member's delta; None when it speaks for nobody of this room. The arrival is one
    transaction and one trip to the database for the socket."""
    member = find_member(appointment_id, user, browser_session)
    if member is None:
        return None
    # connect() locks the row again where the database locks rows; where it locks the whole
    # database for the transaction (SQLite's BEGIN IMMEDIATE), the row read here is locked.
    member = connect(member, locked=not db_connection.features.has_select_for_update, **connection)
    return member, snapshot(member.appointment)


@transaction.atomic
def connect(
    member: Member,
    *,
    session: str,
    channel: str,
    user_agent: str = "",
    resume: str = "",
    node: str = "",
    locked: bool = False,
) -> Member:
    """The member's page connected: staff are in the call at once; others are back in the call
    if admitted, else in the waiting room. A reload keeps the place in the queue and the
    admission. An older connection of the same member is told to step aside.

    A page that lost its socket asks to `resume` its session: when it is this member's current
    or last one, the member keeps it, so the others' pages keep their peer connections to it and
    the media goes on. Any other session asked for is ignored. `member.session` tells which.
    `locked`: the member was read in this transaction with its row locked."""
    if not locked:
        member = locked_member(member)
    appointment = member.appointment
    if member.removed_at:
        join_failed("removed")
        raise NotAllowed(_("You are no longer invited to this consultation."))
    if appointment.call_ended_at or appointment.cancelled_at:
        join_failed("ended")
        raise NotAllowed(_("This consultation has already ended."))
    if not member.is_staff:
        if not member.consented_at:
            join_failed("no_consent")
            raise NotAllowed(_("Please agree to the consent text first."))
        if not can_enter(appointment):
            join_failed("not_open")
            raise NotAllowed(_("The consultation room is not open now."))
    if resume and resume in (member.session, member.last_session):
        session = resume
    previous = member.channel if member.channel and member.channel != channel else ""
    first_wait = member.waiting_since is None
    if member.is_staff or (member.admitted_at and appointment.is_running):
        member.presence = Presence.IN_CALL
    else:
        member.presence = Presence.WAITING
        member.waiting_since = member.waiting_since or timezone.now()
    resumed = session == member.session
    member.session, member.channel, member.node = session, channel, node
    member.last_session = session
    if not resumed:
        # A new page shares nothing yet, whatever the previous one did.
        member.screen_on = False
    changed = ["presence", "waiting_since", "session", "channel", "node", "last_session"]
    changed += ["screen_on"] if not resumed else []
    if user_agent and not member.is_staff:
        member.browser, member.operating_system = describe_user_agent(user_agent)
        changed += ["browser", "operating_system"]
    save_member(member, *changed)
    if member.presence == Presence.WAITING and first_wait:
        emit(appointment, "member.waiting", member=member, waiting_since=member.waiting_since)
    close_connection(previous, "superseded")
    announce(appointment)
    return member


@transaction.atomic
def disconnect(member: Member, *, channel: str, coming_back: bool = False) -> None:
    """The page of this connection went away (closed tab, reload, network): not connected for
    now. A newer connection of the same member is left alone. `coming_back`: the server closed
    the socket for the page to come back (a restart, the channel layer's lost messages), so an
    overrunning consultation does not end because everybody is away for that moment."""
    _not_connected(locked_member(member), channel, end=not coming_back)


@transaction.atomic
def disconnect_channel(appointment_id: str, *, channel: str) -> None:
    """A socket whose arrival was stored but not announced (the channel layer failed after the
    commit) goes: whoever it connected is no longer connected through it."""
    for member in Member.objects.filter(appointment__public_id=appointment_id, channel=channel):
        _not_connected(locked_member(member), channel)


@transaction.atomic
def expire(member: Member, *, node: str) -> bool:
    """The process that held the member's socket is gone (its lease ran out, calls/presence.py):
    not connected, as if the socket had closed. False when the member has connected elsewhere
    meanwhile."""
    member = locked_member(member)
    if member.node != node or not member.channel:
        return False
    _not_connected(member, member.channel)
    return True


def _not_connected(member: Member, channel: str, *, end: bool = True) -> None:
    if not channel or member.channel != channel:
        return
    member.session = member.channel = member.node = ""
    member.screen_on = False
    if member.presence in (Presence.WAITING, Presence.IN_CALL):
        member.presence = Presence.AWAY
    save_member(member)
    if end:
        _end_if_everyone_is_gone(member.appointment)
    announce(member.appointment)


@transaction.atomic
def update_status(
    member: Member,
    *,
    camera: bool | None = None,
    microphone: bool | None = None,
    screen: bool | None = None,
    check: dict[str, Any] | None = None,
) -> Member:
    """Store the live device status; device details only after consent (J5)."""
    member = locked_member(member)
    if check is not None and (member.is_staff or not member.consented_at):
        raise NotAllowed(_("Please agree to the consent text first."))
    if screen and not member.may("share_screen"):
        raise NotAllowed(_("The counselor has not allowed you to share your screen."))
    changed = []
    switches = (("camera_on", camera), ("microphone_on", microphone), ("screen_on", screen))
    for name, value in switches:
        if value is not None and getattr(member, name) != value:
            setattr(member, name, value)
            changed.append(name)
    if check is not None:
        member.check_result = check["result"]
        member.check_details = check.get("details", {})
        changed += ["check_result", "check_details"]
    if changed:
        save_member(member, *changed)
        announce(member.appointment)
    if check is not None:
        emit(member.appointment, "member.checked", member=member, result=member.check_result)
    return member


@transaction.atomic
def admit(member: Member, *, by: Member) -> Member:
    """The host lets a waiting person in; the call starts with the first admission (J10)."""
    member = locked_member(member)
    appointment = _require_host(member, by)
    if member.presence != Presence.WAITING:
        raise NotAllowed(_("This person is not in the waiting room."))
    if not member.channel or (member.node and not presence.alive(member.node)):
        # Their page's process is gone and the lease not yet swept: no ghost is let in.
        raise NotAllowed(_("This person is not connected at the moment."))
    # The first admission starts the call: one more running than the licence allows is refused
    # to the host, and the person keeps waiting.
    if not appointment.call_started_at and (refusal := licences.call_refusal(appointment)):
        raise NotAllowed(refusal)
    now = timezone.now()
    member.admitted_at = now
    member.presence = Presence.IN_CALL
    save_member(member, "admitted_at", "presence")
    if not appointment.call_started_at:
        appointment.call_started_at = now
        appointment.save(update_fields=["call_started_at", "updated_at"])
        publish_appointment(appointment)
    emit(appointment, "member.admitted", member=member, admitted_at=now)
    transaction.on_commit(admitted)
    if appointment.call_started_at == now:
        emit(appointment, "consultation.started", started_at=now)
    record(
        "member.admitted",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        member=member.audit_ref,
        role=member.role,
    )
    announce(appointment)
    return member


@transaction.atomic
def confirm_identity(member: Member, *, by: Member) -> Member:
    """Record that the host checked this person's identity; no document is stored (J10)."""
    member = locked_member(member)
    appointment = _require_host(member, by)
    if member.is_staff:
        raise NotAllowed(_("Only the identity of invited people is checked."))
    if not member.identity_checked_at:
        member.identity_checked_at = timezone.now()
        member.identity_checked_by_id = by.user_id
        save_member(member, "identity_checked_at", "identity_checked_by")
        record(
            "member.identity_checked",
            agency=appointment.agency,
            by=by,
            appointment=appointment,
            member=member.audit_ref,
        )
    return member


@transaction.atomic
def set_permissions(member: Member, *, by: Member, **allowed: bool) -> Member:
    """The host allows or forbids one person to share a screen, send documents or chat.

    Revoking screen sharing ends a running share; every page hears of it at once.
    """
    member = locked_member(member)
    appointment = _require_host(member, by)
    if member.is_staff:
        raise NotAllowed(_("Staff may always share their screen, send documents and chat."))
    changed: dict[str, bool] = {}
    for name, value in allowed.items():
        if name not in PERMISSIONS:
            raise ValueError(f"unknown permission {name}")
        if getattr(member, f"may_{name}") != value:
            setattr(member, f"may_{name}", value)
            changed[name] = value
    if not changed:
        return member
    fields = [f"may_{name}" for name in changed]
    if changed.get("share_screen") is False and member.screen_on:
        member.screen_on = False
        fields.append("screen_on")
    save_member(member, *fields)
    record(
        "member.permissions_changed",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        member=member.audit_ref,
        **changed,
    )
    return member


@transaction.atomic
def leave(member: Member) -> None:
    """The member hung up. The consultation goes on for the others; the link keeps working
    until it ends, so an accidental tap has a way back. Only the host ends it for all."""
    member = locked_member(member)
    appointment = member.appointment
    channel = member.channel
    member.presence = Presence.LEFT
    member.left_at = timezone.now()
    member.session = member.channel = ""
    member.screen_on = False
    save_member(member)
    record("member.left", agency=appointment.agency, by=member, appointment=appointment)
    emit(appointment, "member.left", member=member, reason="hung_up")
    close_connection(channel, "left")
    _end_if_everyone_is_gone(appointment)
    announce(appointment)


@transaction.atomic
def end_call(appointment: Appointment, *, by: Member) -> Appointment:
    """The host ends the consultation for everybody."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not is_host(by, appointment):
        raise NotAllowed(_("Only the host can end the consultation for everybody."))
    if not appointment.call_ended_at:
        _end(appointment, by=by, reason="ended_by_host")
        announce(appointment)
    return appointment


def _end_if_everyone_is_gone(appointment: Appointment) -> None:
    """After its planned end, a consultation that nobody is connected to any more is over."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not appointment.is_running or timezone.now() < appointment.ends_at:
        return
    if appointment.members.exclude(session="").exists():
        return
    _end(appointment, by=None, reason="everyone_left")


def _end(appointment: Appointment, *, by, reason: str) -> None:
    now = timezone.now()
    appointment.call_ended_at = now
    appointment.call_started_at = appointment.call_started_at or now
    appointment.save(update_fields=["call_ended_at", "call_started_at", "updated_at"])
    for member in appointment.members.filter(presence__in=[Presence.WAITING, Presence.IN_CALL]):
        member.presence, member.left_at = Presence.LEFT, now
        save_member(member, "presence", "left_at")
    # The anonymous statistics of the consultation, before its personal data are deleted (N3).
    record_fact(appointment)
    record(
        "appointment.call_ended",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        reason=reason,
    )
    emit(appointment, "consultation.ended", reason=reason, ended_at=now)
    publish_appointment(appointment)
    close_room(appointment, "ended")


def _require_host(member: Member, by: Member) -> Appointment:
    """The acting member is the host of the member's consultation, and it has not ended."""
    appointment = member.appointment
    if not is_host(by, appointment):
        raise NotAllowed(_("Only the host can do this."))
    if appointment.call_ended_at or appointment.cancelled_at:
        raise NotAllowed(_("This consultation has already ended."))
    return appointment
