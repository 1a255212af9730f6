"""Business rules for appointments: booking, changing, cancelling, links, admission, the call.

Every state change is atomic, audited with a dotted action name, and announced to the agency's
staff (day view) and to the room, after the transaction commits.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Location
from videotermin.appointments import emails
from videotermin.appointments.models import Appointment, Link, Participant
from videotermin.audit.services import record
from videotermin.lib.events import agency_group, publish, room_group
from videotermin.lib.tokens import hash_token, new_token


class LinkError(Exception):
    """A personal link that cannot be used; `reason` picks the page and the HTTP status."""

    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    def __init__(self, reason: str, appointment: Appointment | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.appointment = appointment


class NotAllowed(Exception):
    """A state change that the rules forbid at this moment; the message is for the user."""


@dataclass
class Booking:
    appointment: Appointment
    citizen: Participant
    token: str


def announce(appointment: Appointment) -> None:
    """Tell the agency's staff and the room that this appointment changed."""
    publish(
        agency_group(appointment.agency_id),
        "appointment.changed",
        appointment=str(appointment.public_id),
    )
    publish(room_group(appointment.public_id), "room.changed")


def issue_link(participant: Participant) -> str:
    """Create a new personal link for the participant and return its secret token."""
    token, token_hash = new_token()
    Link.objects.create(participant=participant, token_hash=token_hash)
    return token


@transaction.atomic
def create_appointment(
    *,
    counselor,
    location: Location,
    starts_at: datetime,
    citizen_name: str,
    citizen_email: str,
    language: str = "de",
    duration_minutes: int = 30,
    customer_number: str = "",
    send_invitation: bool = True,
) -> Booking:
    """Book an appointment for the counselor's agency and invite the citizen by e-mail."""
    staff = counselor.staff
    if location.agency_id != staff.agency_id:
        raise NotAllowed(_("This location belongs to another agency."))
    appointment = Appointment.objects.create(
        agency_id=staff.agency_id,
        location=location,
        counselor=counselor,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        citizen_name=citizen_name,
        citizen_email=citizen_email,
        language=language,
        customer_number=customer_number,
    )
    citizen = Participant.objects.create(
        appointment=appointment,
        role=Participant.Role.CITIZEN,
        name=citizen_name,
        language=language,
    )
    token = issue_link(citizen)
    record(
        "appointment.created", agency=appointment.agency, actor=counselor, appointment=appointment
    )
    if send_invitation:
        _send(appointment, token, emails.Kind.INVITATION)
    announce(appointment)
    return Booking(appointment, citizen, token)


def _send(appointment: Appointment, token: str | None, kind: emails.Kind) -> None:
    appointment_id = appointment.pk

    def send() -> None:
        fresh = Appointment.objects.select_related("agency", "location", "counselor").get(
            pk=appointment_id
        )
        emails.send(fresh, kind, token=token)
        if kind in (emails.Kind.INVITATION, emails.Kind.UPDATE):
            Appointment.objects.filter(pk=appointment_id).update(invitation_sent_at=timezone.now())

    # Only mail what was really stored; a rolled-back booking sends nothing.
    transaction.on_commit(send)


EDITABLE_FIELDS = (
    "location",
    "starts_at",
    "duration_minutes",
    "citizen_name",
    "citizen_email",
    "language",
    "customer_number",
)


@transaction.atomic
def update_appointment(appointment: Appointment, *, by, **changes) -> Appointment:
    """Change an appointment; the citizen gets an update with a fresh link when it matters."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.cancelled_at or appointment.call_ended_at:
        raise NotAllowed(_("A cancelled or finished appointment cannot be changed."))
    changed = {}
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise ValueError(f"{field} cannot be changed")
        if getattr(appointment, field) != value:
            changed[field] = value
            setattr(appointment, field, value)
    if not changed:
        return appointment
    if "location" in changed and changed["location"].agency_id != appointment.agency_id:
        raise NotAllowed(_("This location belongs to another agency."))
    appointment.sequence += 1
    appointment.save()
    citizen = appointment.citizen()
    if citizen is not None:
        citizen.name = appointment.citizen_name
        citizen.language = appointment.language
        citizen.save(update_fields=["name", "language"])
    record(
        "appointment.changed",
        agency=appointment.agency,
        actor=by,
        appointment=appointment,
        fields=sorted(changed),
    )
    if (
        citizen is not None
        and {"starts_at", "duration_minutes", "citizen_email", "location", "language"}
        & changed.keys()
    ):
        _send(appointment, issue_link(citizen), emails.Kind.UPDATE)
    announce(appointment)
    return appointment


@transaction.atomic
def cancel_appointment(appointment: Appointment, *, by) -> Appointment:
    """Cancel: every link stops working, the citizen is told by e-mail and leaves the room."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.cancelled_at:
        return appointment
    if appointment.call_ended_at:
        raise NotAllowed(_("A finished appointment cannot be cancelled."))
    appointment.cancelled_at = timezone.now()
    appointment.sequence += 1
    appointment.save(update_fields=["cancelled_at", "sequence", "updated_at"])
    record("appointment.cancelled", agency=appointment.agency, actor=by, appointment=appointment)
    _send(appointment, None, emails.Kind.CANCELLATION)
    publish(room_group(appointment.public_id), "room.closed", reason="cancelled")
    announce(appointment)
    return appointment


@transaction.atomic
def resend_invitation(appointment: Appointment, *, by) -> None:
    """Send the invitation again, with a new link; earlier links keep working."""
    if not appointment.links_valid():
        raise NotAllowed(_("The appointment is over or cancelled; there is nothing to resend."))
    citizen = appointment.citizen()
    if citizen is None:
        raise NotAllowed(_("This appointment has no citizen to invite."))
    record(
        "appointment.invitation_resent",
        agency=appointment.agency,
        actor=by,
        appointment=appointment,
    )
    _send(appointment, issue_link(citizen), emails.Kind.INVITATION)


def resolve_link(token: str) -> Participant:
    """Return the participant whose link this is, or raise LinkError saying why it fails."""
    link = (
        Link.objects.select_related("participant__appointment__agency")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None:
        raise LinkError(LinkError.UNKNOWN)
    participant = link.participant
    appointment = participant.appointment
    if appointment.cancelled_at:
        raise LinkError(LinkError.CANCELLED, appointment)
    if appointment.call_ended_at or not appointment.links_valid():
        raise LinkError(LinkError.EXPIRED, appointment)
    return participant


def can_enter(appointment: Appointment, now: datetime | None = None) -> bool:
    """Whether the waiting room is open: from the agency's lead time before the start."""
    now = now or timezone.now()
    return appointment.entry_opens_at <= now and appointment.links_valid(now)
