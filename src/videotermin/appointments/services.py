"""Business rules for appointments and their members: booking, inviting, changing, removing,
cancelling, links, and staff joining the room.

Every state change takes the acting person (`by=`: a staff user or a member), is atomic, is
audited with a dotted action name that names people only by pseudonym, and is announced to the
agency's staff (day view) and to the room after the transaction commits.
"""

import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.actors import AgencySystem
from videotermin.agencies.models import Location
from videotermin.appointments import emails
from videotermin.appointments.models import MAX_MEMBERS, Appointment, Link, Member
from videotermin.audit.services import record
from videotermin.calls.state import (
    close_connection,
    close_room,
    member_with_room,
    publish_appointment,
    publish_member,
)
from videotermin.lib.events import agency_group, publish
from videotermin.lib.rows import Statement, Table, save_fields
from videotermin.lib.tokens import hash_token, new_token
from videotermin.resources import licences
from videotermin.webhooks.outbox import emit

Role = Member.Role
MIN_DURATION_MINUTES, MAX_DURATION_MINUTES = 5, 480


class LinkError(Exception):
    """A personal link that cannot be used; `reason` picks the page and the HTTP status."""

    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REMOVED = "removed"
    REPLACED = "replaced"
    WITHDRAWN = "withdrawn"

    def __init__(self, reason: str, member: Member | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.member = member

    @property
    def appointment(self) -> Appointment | None:
        return self.member.appointment if self.member is not None else None


class NotAllowed(Exception):
    """A state change that the rules forbid at this moment; the message is for the user."""


@dataclass(frozen=True)
class Invitee:
    """Someone to invite by personal link."""

    name: str
    email: str
    role: str = Role.CITIZEN
    language: str = "de"
    customer_number: str = ""


@dataclass
class Booking:
    appointment: Appointment
    citizen: Member
    token: str
    # The extra participants invited with the booking and their links' tokens.
    extras: list[tuple[Member, str]] = field(default_factory=list)


def announce(appointment: Appointment) -> None:
    """Tell the agency's staff (the day views) that this appointment changed."""
    publish(
        agency_group(appointment.agency_id),
        "appointment.changed",
        appointment=str(appointment.public_id),
        # Names this change: the day views of one process describe it once (staff/consumers.py).
        change=secrets.token_hex(6),
    )


def save_member(member: Member, *fields: str) -> None:
    """Store a member's change with a new version and tell the room, after the commit."""
    member.version += 1
    # Written out once: every arrival and every change of a member saves one (lib/rows.py).
    save_fields(member, [*fields, "version"] if fields else ())
    publish_member(member)


def issue_link(member: Member) -> str:
    """Create a new personal link for the member and return its secret token."""
    token, token_hash = new_token()
    Link.objects.create(member=member, token_hash=token_hash)
    return token


def _require_staff(appointment: Appointment, by) -> None:
    """`by` is a staff user of the appointment's agency, a staff member of its room, or one of the
    agency's own systems (its API key, its booking page)."""
    if isinstance(by, Member):
        if by.is_staff and by.appointment_id == appointment.pk and by.removed_at is None:
            return
    elif isinstance(by, AgencySystem):
        if by.agency_id == appointment.agency_id:
            return
    else:
        staff = getattr(by, "staff", None)
        # An analyst belongs to the agency but never to its appointments.
        if (
            staff is not None
            and staff.agency_id == appointment.agency_id
            and staff.sees_appointments
        ):
            return
    raise NotAllowed(_("Only staff of this agency may do this."))


def is_host(by, appointment: Appointment) -> bool:
    """Whether `by` is the host now: read afresh, a hand-over may have happened meanwhile."""
    if not isinstance(by, Member) or by.appointment_id != appointment.pk:
        return False
    return Member.objects.filter(pk=by.pk, role=Role.HOST, removed_at__isnull=True).exists()


def _require_sane_time(starts_at: datetime, duration_minutes: int) -> None:
    """A start within the booking horizon and a duration a consultation can have: dates like
    9999-12-31 would overflow the calendar file and the day view."""
    if starts_at > timezone.now() + timedelta(days=settings.BOOKING_HORIZON_DAYS):
        raise NotAllowed(_("The start lies too far in the future."))
    if not MIN_DURATION_MINUTES <= duration_minutes <= MAX_DURATION_MINUTES:
        raise NotAllowed(_("A consultation lasts between 5 and 480 minutes."))


def _require_open(appointment: Appointment) -> None:
    if appointment.cancelled_at or appointment.call_ended_at:
        raise NotAllowed(_("A cancelled or finished appointment cannot be changed."))


def _too_many_people() -> str:
    return gettext(
        "A consultation can have at most %(max)d people. Please remove someone first."
    ) % {"max": MAX_MEMBERS}


# Lazy, like every refusal: it is put into words in the language of whoever reads it.
_too_many = lazy(_too_many_people, str)


def _require_room_for_one_more(appointment: Appointment) -> None:
    present = appointment.members.filter(removed_at__isnull=True).count()
    if present >= MAX_MEMBERS:
        raise NotAllowed(_too_many())
    if refusal := licences.group_refusal(appointment.agency_id, present + 1):
        raise NotAllowed(refusal)


def _invite(appointment: Appointment, invitee: Invitee) -> tuple[Member, str]:
    member = Member.objects.create(
        appointment=appointment,
        role=invitee.role,
        name=invitee.name,
        email=invitee.email,
        language=invitee.language,
        customer_number=invitee.customer_number if invitee.role == Role.CITIZEN else "",
    )
    return member, issue_link(member)


@transaction.atomic
def create_appointment(
    *,
    by,
    location: Location,
    starts_at: datetime,
    citizen: Invitee,
    extras: Sequence[Invitee] = (),
    duration_minutes: int = 30,
    send_invitation: bool = True,
    counselor=None,
) -> Booking:
    """Book an appointment and invite everyone by e-mail.

    The host is `counselor`, or the acting counselor when they book for themselves; an agency's
    system (`AgencySystem`: its API key, its booking page) always names the counselor.
    """
    agency_id = by.agency_id if isinstance(by, AgencySystem) else _staff_agency(by)
    counselor = by if counselor is None and not isinstance(by, AgencySystem) else counselor
    host = getattr(counselor, "staff", None)
    # An analyst belongs to the staff but never hosts.
    if (
        host is None
        or host.agency_id != agency_id
        or not counselor.is_active
        or not host.sees_appointments
    ):
        raise NotAllowed(_("The counselor must be an active member of this agency's staff."))
    if location.agency_id != agency_id:
        raise NotAllowed(_("This location belongs to another agency."))
    if not location.active:
        raise NotAllowed(_("This location is closed for booking."))
    if citizen.role != Role.CITIZEN or any(e.role not in Member.EXTRA_ROLES for e in extras):
        raise ValueError("one citizen and extra participants only")
    if 2 + len(extras) > MAX_MEMBERS:
        raise NotAllowed(_too_many())
    if refusal := licences.group_refusal(agency_id, 2 + len(extras)):
        raise NotAllowed(refusal)
    _require_sane_time(starts_at, duration_minutes)
    appointment = Appointment.objects.create(
        agency_id=agency_id,
        location=location,
        counselor=counselor,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
    )
    Member.objects.create(appointment=appointment, role=Role.HOST, user=counselor)
    citizen_member, token = _invite(appointment, citizen)
    invited = [(citizen_member, token), *(_invite(appointment, extra) for extra in extras)]
    record(
        "appointment.created",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        members=[{"member": m.audit_ref, "role": m.role} for m, _token in invited],
    )
    for member, _token in invited:
        emit(appointment, "member.invited", member=member)
    if send_invitation:
        for member, member_token in invited:
            _send(member, member_token, emails.Kind.INVITATION)
    announce(appointment)
    return Booking(appointment, citizen_member, token, invited[1:])


def _staff_agency(by) -> int:
    staff = getattr(by, "staff", None)
    if staff is None or not staff.sees_appointments:
        raise NotAllowed(_("Only staff of this agency may do this."))
    return staff.agency_id


def _send(member: Member, token: str | None, kind: emails.Kind) -> None:
    member_id = member.pk

    def send() -> None:
        fresh = Member.objects.select_related(
            "appointment__agency", "appointment__location", "appointment__counselor"
        ).get(pk=member_id)
        emails.send(fresh, kind, token=token)
        if kind in (emails.Kind.INVITATION, emails.Kind.UPDATE):
            Member.objects.filter(pk=member_id).update(invited_at=timezone.now())

    # Only mail what was really stored; a rolled-back booking sends nothing.
    transaction.on_commit(send)


EDITABLE_FIELDS = ("location", "starts_at", "duration_minutes")
MEMBER_FIELDS = ("name", "email", "language", "customer_number")


@transaction.atomic
def update_appointment(appointment: Appointment, *, by, **changes) -> Appointment:
    """Change time, duration or place; everyone invited gets an update with a fresh link."""
    appointment, _changed = change_booking(appointment, by=by, appointment_changes=changes)
    return appointment


@transaction.atomic
def update_member(member: Member, *, by, **changes) -> Member:
    """Correct an invited person's name, address, language or customer number.

    A corrected e-mail address ends the links sent to the old one, and a page opened with one of
    them leaves the room: whoever got that e-mail by mistake cannot use it. The person gets the
    invitation at the new address, or an update when the language changed.
    """
    change_booking(member.appointment, by=by, member=member, member_changes=changes)
    return locked_member(member)


@transaction.atomic
def change_booking(
    appointment: Appointment,
    *,
    by,
    appointment_changes: dict | None = None,
    member: Member | None = None,
    member_changes: dict | None = None,
) -> tuple[Appointment, set[str]]:
    """Change the appointment and one invited person at once, as the staff's edit form does.

    Everyone concerned gets exactly one e-mail with one working link: the invitation at a new
    address, else an update when time, place or their language changed. Returns the fresh
    appointment and the names of the changed fields.
    """
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _require_staff(appointment, by)
    _require_open(appointment)
    changed = _apply_appointment_changes(appointment, by, appointment_changes or {})
    member_changed: set[str] = set()
    if member is not None:
        member = locked_member(member)
        if member.appointment_id != appointment.pk:
            raise NotAllowed(_("This person is not part of this appointment."))
        member_changed = _apply_member_changes(member, by, member_changes or {})
    if not changed and not member_changed:
        return appointment, set()
    if {"email", "language"} & member_changed or changed:
        appointment.sequence += 1
        appointment.save(update_fields=["sequence", "updated_at"])
    for invited in appointment.externals():
        if member is not None and invited.pk == member.pk:
            if "email" in member_changed:
                _send(invited, issue_link(invited), emails.Kind.INVITATION)
            elif changed or "language" in member_changed:
                _send(invited, issue_link(invited), emails.Kind.UPDATE)
        elif changed:
            _send(invited, issue_link(invited), emails.Kind.UPDATE)
    if changed:
        publish_appointment(appointment)
    announce(appointment)
    return appointment, changed | member_changed


def _apply_appointment_changes(appointment: Appointment, by, changes: dict) -> set[str]:
    changed = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name} cannot be changed")
        if getattr(appointment, name) != value:
            changed[name] = value
            setattr(appointment, name, value)
    if not changed:
        return set()
    if "location" in changed and changed["location"].agency_id != appointment.agency_id:
        raise NotAllowed(_("This location belongs to another agency."))
    if "location" in changed and not changed["location"].active:
        raise NotAllowed(_("This location is closed for booking."))
    _require_sane_time(appointment.starts_at, appointment.duration_minutes)
    appointment.save()
    record(
        "appointment.changed",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        fields=sorted(changed),
    )
    return set(changed)


def _apply_member_changes(member: Member, by, changes: dict) -> set[str]:
    if member.is_staff or member.removed_at:
        raise NotAllowed(_("This person is not invited by link."))
    changed = {}
    for name, value in changes.items():
        if name not in MEMBER_FIELDS:
            raise ValueError(f"{name} cannot be changed")
        if name == "customer_number" and member.role != Role.CITIZEN:
            continue
        if getattr(member, name) != value:
            changed[name] = value
            setattr(member, name, value)
    if not changed:
        return set()
    channel = member.channel
    if "email" in changed:
        # Whatever went to the old address stops working, the page it opened included.
        member.links.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        member.session = member.channel = ""
        if member.presence in (Member.Presence.WAITING, Member.Presence.IN_CALL):
            member.presence = Member.Presence.AWAY
        save_member(member, *changed, "session", "channel", "presence")
        close_connection(channel, "replaced")
    else:
        save_member(member, *changed)
    record(
        "member.changed",
        agency=member.appointment.agency,
        by=by,
        appointment=member.appointment,
        member=member.audit_ref,
        fields=sorted(changed),
    )
    return set(changed)


@transaction.atomic
def add_member(appointment: Appointment, invitee: Invitee, *, by) -> tuple[Member, str]:
    """Invite one more person by link, before or during the call (S5)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _require_staff(appointment, by)
    _require_open(appointment)
    if invitee.role not in Member.EXTRA_ROLES and not (
        invitee.role == Role.CITIZEN and appointment.citizen() is None
    ):
        raise NotAllowed(_("This role cannot be invited."))
    _require_room_for_one_more(appointment)
    member, token = _invite(appointment, invitee)
    record(
        "member.invited",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        member=member.audit_ref,
        role=member.role,
    )
    emit(appointment, "member.invited", member=member)
    _send(member, token, emails.Kind.INVITATION)
    publish_member(member, "added")
    announce(appointment)
    return member, token


@transaction.atomic
def remove_member(member: Member, *, by) -> Member:
    """Take someone out of the consultation: their links end and a connected page leaves (J12)."""
    member = locked_member(member)
    appointment = member.appointment
    _require_staff(appointment, by)
    # In the room only the host removes people; in the workspace, staff of the agency do.
    if isinstance(by, Member) and not is_host(by, appointment):
        raise NotAllowed(_("Only the host can do this."))
    if member.is_host:
        raise NotAllowed(_("The host cannot be removed. Hand the consultation over first."))
    if member.removed_at:
        return member
    now = timezone.now()
    member.removed_at = now
    channel = take_out(member, now)
    member.version += 1
    member.save()
    record(
        "member.removed",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        member=member.audit_ref,
        role=member.role,
    )
    emit(appointment, "member.left", member=member, reason="removed")
    publish_member(member, "left")
    close_connection(channel, "removed")
    if not member.is_staff and not appointment.call_ended_at and not appointment.cancelled_at:
        # Their calendar entry goes too.
        _send(member, None, emails.Kind.CANCELLATION)
    announce(appointment)
    return member


def take_out(member: Member, now: datetime) -> str:
    """Out of the consultation for good (removed, consent withdrawn): gone from the call, every
    link ended. The caller saves the member; returns the channel to close after that."""
    channel = member.channel
    member.presence = Member.Presence.LEFT
    member.left_at = now
    member.waiting_since = None
    member.session = member.channel = ""
    member.screen_on = False
    member.links.filter(revoked_at__isnull=True).update(revoked_at=now)
    return channel


@transaction.atomic
def cancel_appointment(appointment: Appointment, *, by) -> Appointment:
    """Cancel: every link stops working, everyone invited is told and leaves the room."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _require_staff(appointment, by)
    if appointment.cancelled_at:
        return appointment
    if appointment.call_ended_at:
        raise NotAllowed(_("A finished appointment cannot be cancelled."))
    appointment.cancelled_at = timezone.now()
    appointment.sequence += 1
    appointment.save(update_fields=["cancelled_at", "sequence", "updated_at"])
    record("appointment.cancelled", agency=appointment.agency, by=by, appointment=appointment)
    emit(appointment, "consultation.cancelled", cancelled_at=appointment.cancelled_at)
    for member in appointment.externals():
        _send(member, None, emails.Kind.CANCELLATION)
    close_room(appointment, "cancelled")
    announce(appointment)
    return appointment


@transaction.atomic
def resend_invitation(member: Member, *, by) -> None:
    """Send the invitation again, with a new link; earlier links keep working."""
    member = locked_member(member)
    appointment = member.appointment
    _require_staff(appointment, by)
    if not appointment.links_valid():
        raise NotAllowed(_("The appointment is over or cancelled; there is nothing to resend."))
    if member.is_staff or member.removed_at:
        raise NotAllowed(_("This person is not invited by link."))
    if member.withdrawn_at:
        raise NotAllowed(_("This person has withdrawn their consent; they get no new link."))
    record(
        "member.invitation_resent",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        member=member.audit_ref,
    )
    _send(member, issue_link(member), emails.Kind.INVITATION)


@transaction.atomic
def join_as_staff(appointment: Appointment, user) -> Member:
    """A staff user opens the room: the appointment's counselor as host, anyone else of the
    agency as a colleague, announced to everyone (M1). A colleague never takes over silently."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _require_staff(appointment, user)
    member = appointment.members.filter(user=user).first()
    role = Role.HOST if user.pk == appointment.counselor_id else Role.COLLEAGUE
    if member is not None and member.removed_at is None:
        return member
    if member is not None:
        raise NotAllowed(_("You were removed from this consultation."))
    _require_room_for_one_more(appointment)
    member = Member.objects.create(appointment=appointment, role=role, user=user)
    if role == Role.COLLEAGUE:
        record(
            "member.colleague_joined",
            agency=appointment.agency,
            by=user,
            appointment=appointment,
            member=member.audit_ref,
        )
    publish_member(member, "added")
    return member


@transaction.atomic
def hand_over(appointment: Appointment, *, to: Member, by: Member) -> Appointment:
    """Make a colleague the host. The host hands over; a colleague may take over only while the
    host is not connected (the host fell ill, the connection is gone). Always audited."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _require_open(appointment)
    new, actor = locked_member(to), locked_member(by)
    host = appointment.members.select_for_update().filter(role=Role.HOST).first()
    if new.appointment_id != appointment.pk or new.role != Role.COLLEAGUE or new.removed_at:
        raise NotAllowed(_("Only a colleague in this consultation can become the host."))
    if actor.role == Role.COLLEAGUE:
        if actor.pk != new.pk:
            raise NotAllowed(_("Only the host can hand the consultation over."))
        if host is not None and host.session:
            raise NotAllowed(
                _("The host is connected. Please ask the host to hand the consultation over.")
            )
    elif actor.role != Role.HOST or actor.appointment_id != appointment.pk:
        raise NotAllowed(_("Only the host can hand the consultation over."))
    if host is not None:
        host.role = Role.COLLEAGUE
        save_member(host, "role")
    new.role = Role.HOST
    save_member(new, "role")
    assert new.user is not None  # a colleague is always a staff user
    appointment.counselor = new.user
    appointment.save(update_fields=["counselor", "updated_at"])
    record(
        "appointment.host_handed_over",
        agency=appointment.agency,
        by=actor,
        appointment=appointment,
        previous=host.audit_ref if host is not None else "",
        host=new.audit_ref,
    )
    announce(appointment)
    return appointment


def open_link(token: str) -> Link:
    """Return the working link of this token, or raise LinkError saying why it fails."""
    link = (
        Link.objects.select_related("member__appointment__agency")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None:
        raise LinkError(LinkError.UNKNOWN)
    check_member_access(link.member)
    if link.revoked_at is not None:
        raise LinkError(LinkError.REPLACED, link.member)
    return link


def resolve_link(token: str) -> Member:
    """Return the member whose working link this is, or raise LinkError saying why it fails."""
    return open_link(token).member


def check_member_access(member: Member) -> None:
    """Raise LinkError when the member's pages are closed (withdrawn, cancelled, over, removed)."""
    appointment = member.appointment
    if member.withdrawn_at:
        raise LinkError(LinkError.WITHDRAWN, member)
    if appointment.cancelled_at:
        raise LinkError(LinkError.CANCELLED, member)
    if member.removed_at:
        raise LinkError(LinkError.REMOVED, member)
    if not appointment.links_valid():
        raise LinkError(LinkError.EXPIRED, member)


def can_enter(appointment: Appointment, now: datetime | None = None) -> bool:
    """Whether the waiting room is open: from the agency's lead time before the start."""
    now = now or timezone.now()
    return appointment.entry_opens_at <= now and appointment.links_valid(now)


def locked_member(member: Member) -> Member:
    """The member's row, locked until the transaction ends, with appointment and agency.

    The appointment's row is locked first: every service takes the two in this order, so that
    two of them (a disconnect ending the consultation, a hand-over) never wait for each other.
    A database without row locks (SQLite) serialises whole transactions instead: nothing to
    lock first there.
    """
    if connection.features.has_select_for_update:
        _appointment_lock().rows([member.appointment_id])
    # Every service reads its member so: written once (lib/rows.py), not built each time.
    return member_with_room(member.pk, locked=True)


@functools.cache
def _appointment_lock() -> Statement:
    def write(q) -> str:
        found = f"SELECT {q.a.c('id')} FROM {q.a.table} WHERE {q.a.c('id')} = %s"  # noqa: S608 (names)
        return found + q.for_update()

    return Statement([], write, joined=[Table(Appointment, "a")])
