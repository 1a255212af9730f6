"""Booking by the person themselves (J14): booking links, the public page's held slots and
their confirmation, booking a free slot, and cancelling or moving it through the personal link.

Exactly one person gets a slot. Booking locks the rows of the counselors who could hold it
(`StaffMember`, in one statement, in primary-key order) before it looks at their appointments
and holds, so a second booking of the same counselor waits until the first has committed and
then sees it; on SQLite every transaction takes the database's write lock at its start
(IMMEDIATE), which serialises them the same way. A held start is moreover unique per counselor
in the database (`Hold`).

The appointment is made by `appointments.services` as the agency's own system
(`AgencySystem`, audited as "booking:<link or page>"), which sends the invitation or the
update and tells the day views.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.actors import AgencySystem
from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment, Member
from videotermin.audit.services import record
from videotermin.booking import emails, slots
from videotermin.booking.models import BookingPage, Hold, Invitation, Schedule, SelfBooking
from videotermin.lib.tokens import hash_token, new_token

# Tokens are 32 characters; anything much longer is not ours and is not worth hashing.
MAX_TOKEN_LENGTH = 128


class BookingError(Exception):
    """Why a booking cannot be made; the message is for the person booking."""


class SlotTaken(BookingError):
    """Somebody else was quicker: the slot is no longer free."""

    def __init__(self) -> None:
        super().__init__(
            _("Sorry, someone else has just booked this time. Please choose another one.")
        )


class InvitationError(Exception):
    """A booking link that cannot be used; `reason` picks the page."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"

    def __init__(self, reason: str, invitation: Invitation | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


class HoldError(Exception):
    """A confirmation link that cannot be used (unknown, or the hold has expired)."""


# Booking links


def _require_staff_or_system(agency: Agency, by) -> None:
    """`by` is staff of the agency, the agency's own system, or None (an operator's command)."""
    if by is None:
        return
    if isinstance(by, AgencySystem):
        if by.agency_id == agency.pk:
            return
    else:
        staff = getattr(by, "staff", None)
        if staff is not None and staff.agency_id == agency.pk and by.is_active:
            return
    raise appointments.NotAllowed(_("Only staff of this agency may do this."))


def _require_counselor(agency: Agency, counselor) -> None:
    staff = StaffMember.objects.filter(user=counselor, agency=agency, user__is_active=True)
    if not staff.exists():
        raise appointments.NotAllowed(
            _("The counselor must be an active member of this agency's staff.")
        )


@transaction.atomic
def issue_booking_invitation(
    agency: Agency,
    *,
    by,
    location: Location | None = None,
    counselor=None,
    language: str,
    name: str,
    email: str,
    customer_number: str = "",
    valid_days: int | None = None,
) -> tuple[Invitation, str]:
    """Issue a single-use booking link for one person; returns the row and the link's secret,
    which is shown once and never stored (only its hash)."""
    _require_staff_or_system(agency, by)
    if location is not None:
        if location.agency_id != agency.pk:
            raise appointments.NotAllowed(_("This location belongs to another agency."))
        if not location.active:
            raise appointments.NotAllowed(_("This location is closed for booking."))
    if counselor is not None:
        _require_counselor(agency, counselor)
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language {language!r}")
    name, email = name.strip(), email.strip()
    if not name or len(name) > 200 or len(customer_number) > 40:
        raise ValueError("a name of 1 to 200 characters and a customer number of up to 40")
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError("not an e-mail address") from None
    days = valid_days if valid_days is not None else settings.BOOKING_INVITATION_DAYS
    if not 1 <= days <= 90:
        raise ValueError("a booking link is valid for 1 to 90 days")
    token, token_hash = new_token()
    invitation = Invitation.objects.create(
        agency=agency,
        location=location,
        counselor=counselor,
        language=language,
        name=name,
        email=email,
        customer_number=customer_number.strip(),
        token_hash=token_hash,
        expires_at=timezone.now() + timedelta(days=days),
    )
    record(
        "booking.invitation_issued",
        agency=agency,
        by=by,
        invitation=str(invitation.public_id),
        location=str(location.public_id) if location else "",
        staff=f"staff:{counselor.pk}" if counselor is not None else "",
    )
    return invitation, token


def open_invitation(token: str) -> Invitation:
    """The usable booking link of this token, or InvitationError saying why not."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvitationError(InvitationError.UNKNOWN)
    invitation = (
        Invitation.objects.select_related("agency", "location", "counselor")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationError(InvitationError.UNKNOWN)
    check_invitation(invitation)
    return invitation


def check_invitation(invitation: Invitation) -> None:
    if invitation.used_at is not None:
        raise InvitationError(InvitationError.USED, invitation)
    if invitation.expires_at <= timezone.now():
        raise InvitationError(InvitationError.EXPIRED, invitation)


def invitation_slots(invitation: Invitation, *, now: datetime | None = None) -> list[slots.Slot]:
    schedules = slots.schedules_for(
        invitation.agency, location=invitation.location, counselor=invitation.counselor
    )
    return slots.free_slots(schedules, now=now, only_counselor=invitation.counselor_id)


def page_slots(page: BookingPage, *, now: datetime | None = None) -> list[slots.Slot]:
    return slots.free_slots(slots.schedules_for(page.agency, location=page.location), now=now)


# Booking a slot


@dataclass(frozen=True)
class Choice:
    """A slot someone picked, checked against the schedule's rules (not yet whether free)."""

    schedule: Schedule
    starts_at: datetime

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.schedule.slot_minutes)


def _choose(key: str, schedules: list[Schedule], now: datetime) -> Choice:
    """The slot a form named, if one of these schedules publishes it now; else SlotTaken (a
    slot that vanished from the hours is as gone as a booked one)."""
    parsed = slots.parse_key(key)
    if parsed is None:
        raise SlotTaken
    schedule_id, starts_at = parsed
    schedule = next((s for s in schedules if str(s.public_id) == schedule_id), None)
    if schedule is None:
        raise SlotTaken
    rules = slots.Rules.of(schedule)
    if (starts_at, starts_at + timedelta(minutes=schedule.slot_minutes)) not in set(
        slots.published(rules, slots.zone_of(schedule.agency), now)
    ):
        raise SlotTaken
    return Choice(schedule, starts_at)


def _claim(
    choice: Choice,
    now: datetime,
    *,
    only_counselor: int | None = None,
    except_appointment: Appointment | None = None,
    except_hold: Hold | None = None,
) -> int:
    """Lock the counselors who could hold the slot and return the first of them who is free.

    The lock holds until the transaction ends: whoever books one of them meanwhile waits, and
    then finds this booking.
    """
    candidates = slots.counselors_of(choice.schedule)
    if only_counselor is not None:
        candidates = [c for c in candidates if c == only_counselor]
    if not candidates:
        raise SlotTaken
    list(
        StaffMember.objects.select_for_update()
        .filter(user_id__in=candidates)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    busy = slots.busy_times(
        candidates,
        choice.starts_at,
        choice.ends_at,
        now=now,
        except_appointment=except_appointment,
        except_hold=except_hold,
    )
    for counselor_id in candidates:
        if slots.is_free(busy, counselor_id, choice.starts_at, choice.ends_at):
            return counselor_id
    raise SlotTaken


def _actor(agency_id: int, source_id, label: str) -> AgencySystem:
    return AgencySystem(agency_id=agency_id, audit_ref=f"booking:{source_id}", label=label)


def _book(
    choice: Choice,
    counselor_id: int,
    *,
    by: AgencySystem,
    invitee: appointments.Invitee,
    source: str,
    source_id,
    scope_location: Location | None,
    scope_counselor,
) -> appointments.Booking:
    counselor = StaffMember.objects.select_related("user").get(user_id=counselor_id).user
    try:
        booking = appointments.create_appointment(
            by=by,
            counselor=counselor,
            location=choice.schedule.location,
            starts_at=choice.starts_at,
            duration_minutes=choice.schedule.slot_minutes,
            citizen=invitee,
        )
    except appointments.NotAllowed:
        # The location closed or the counselor left a moment ago: the slot is gone.
        raise SlotTaken from None
    SelfBooking.objects.create(
        appointment=booking.appointment,
        source=source,
        source_id=source_id,
        location=scope_location,
        counselor=scope_counselor,
    )
    return booking


def _language(language: str, fallback: str) -> str:
    return language if language in dict(settings.LANGUAGES) else fallback


@transaction.atomic
def book_with_invitation(
    invitation: Invitation, key: str, *, language: str = ""
) -> appointments.Booking:
    """Book the slot the person chose through their booking link; the link is used up."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    check_invitation(invitation)
    now = timezone.now()
    schedules = slots.schedules_for(
        invitation.agency, location=invitation.location, counselor=invitation.counselor
    )
    choice = _choose(key, schedules, now)
    counselor_id = _claim(choice, now, only_counselor=invitation.counselor_id)
    booking = _book(
        choice,
        counselor_id,
        by=_actor(invitation.agency_id, invitation.public_id, "booking link"),
        invitee=appointments.Invitee(
            name=invitation.name,
            email=invitation.email,
            language=_language(language, invitation.language),
            customer_number=invitation.customer_number,
        ),
        source=SelfBooking.Source.INVITATION,
        source_id=invitation.public_id,
        scope_location=invitation.location,
        scope_counselor=invitation.counselor,
    )
    # Single use; the member has the person's details now.
    invitation.used_at = now
    invitation.appointment = booking.appointment
    invitation.name = invitation.email = invitation.customer_number = ""
    invitation.save()
    return booking


# The public booking page


def hold_expiry() -> timedelta:
    return timedelta(minutes=settings.BOOKING_HOLD_MINUTES)


@transaction.atomic
def hold_slot(
    page: BookingPage,
    key: str,
    *,
    name: str,
    email: str,
    customer_number: str = "",
    language: str,
) -> Hold:
    """Hold the chosen slot for the person and send them the link that confirms it.

    Their earlier unconfirmed hold on this page goes: one address holds one slot at a time.
    """
    page = BookingPage.objects.select_related("agency", "location").get(pk=page.pk)
    if not page.enabled:
        raise SlotTaken
    now = timezone.now()
    Hold.objects.filter(page=page, email__iexact=email.strip()).delete()
    Hold.objects.filter(expires_at__lte=now).delete()
    choice = _choose(key, slots.schedules_for(page.agency, location=page.location), now)
    counselor_id = _claim(choice, now)
    token, token_hash = new_token()
    try:
        with transaction.atomic():
            hold = Hold.objects.create(
                page=page,
                schedule=choice.schedule,
                location=choice.schedule.location,
                counselor_id=counselor_id,
                starts_at=choice.starts_at,
                duration_minutes=choice.schedule.slot_minutes,
                expires_at=now + hold_expiry(),
                language=_language(language, settings.LANGUAGE_CODE),
                name=name.strip(),
                email=email.strip(),
                customer_number=customer_number.strip(),
                token_hash=token_hash,
            )
    except IntegrityError:  # the same start held a moment ago (the database's own guard)
        raise SlotTaken from None
    hold_id = hold.pk

    def send() -> None:
        stored = Hold.objects.select_related("page__agency", "location").filter(pk=hold_id)
        # Replaced by a newer choice of the same person before this ran: nothing to confirm.
        if stored.exists():
            emails.send_confirmation(stored.get(), token)

    transaction.on_commit(send)
    return hold


def open_hold(token: str) -> Hold:
    """The unexpired hold of this confirmation link, or HoldError."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise HoldError
    hold = (
        Hold.objects.select_related("page__agency", "page__location", "location", "schedule")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if hold is None or hold.expires_at <= timezone.now():
        raise HoldError
    return hold


@transaction.atomic
def confirm_hold(hold: Hold) -> appointments.Booking:
    """The person confirmed by e-mail: the held slot becomes their appointment."""
    locked = Hold.objects.select_for_update().filter(pk=hold.pk).first()
    now = timezone.now()
    if locked is None or locked.expires_at <= now:
        raise HoldError
    hold = locked
    page = BookingPage.objects.select_related("agency", "location").get(pk=hold.page_id)
    if not page.enabled:
        raise SlotTaken
    schedule = Schedule.objects.select_related("agency", "location").get(pk=hold.schedule_id)
    choice = Choice(schedule, hold.starts_at)
    counselor_id = _claim(choice, now, only_counselor=hold.counselor_id, except_hold=hold)
    booking = _book(
        choice,
        counselor_id,
        by=_actor(page.agency_id, page.public_id, "booking page"),
        invitee=appointments.Invitee(
            name=hold.name,
            email=hold.email,
            language=hold.language,
            customer_number=hold.customer_number,
        ),
        source=SelfBooking.Source.PAGE,
        source_id=page.public_id,
        scope_location=page.location,
        scope_counselor=None,
    )
    hold.delete()
    return booking


def delete_expired(now: datetime | None = None) -> tuple[int, int]:
    """Delete unconfirmed holds whose time ran out, with what the person typed, and blank the
    details of unused booking links that expired (their rows go later). Returns the counts."""
    now = now or timezone.now()
    holds, _by_model = Hold.objects.filter(expires_at__lte=now).delete()
    expired = Invitation.objects.filter(expires_at__lte=now, used_at__isnull=True)
    blanked = expired.exclude(name="", email="", customer_number="").update(
        name="", email="", customer_number=""
    )
    Invitation.objects.filter(
        expires_at__lte=now - timedelta(days=settings.BOOKING_INVITATION_KEEP_DAYS),
        used_at__isnull=True,
    ).delete()
    return holds, blanked


# Cancelling and moving through the personal link


def self_booking_of(member: Member) -> SelfBooking | None:
    """The self-booking the citizen may still cancel or move: their own, not started yet."""
    if member.role != Member.Role.CITIZEN or member.removed_at or member.withdrawn_at:
        return None
    appointment = member.appointment
    if appointment.cancelled_at or appointment.call_started_at:
        return None
    if appointment.starts_at <= timezone.now():
        return None
    return SelfBooking.objects.filter(appointment=appointment).first()


def _require_self_booking(member: Member) -> SelfBooking:
    own = self_booking_of(member)
    if own is None:
        raise BookingError(
            _("This appointment can no longer be changed here. Please contact the agency.")
        )
    return own


def rebook_slots(member: Member, *, now: datetime | None = None) -> list[slots.Slot]:
    """Where the person may move their appointment: the same counselor's free slots within the
    hours they booked from."""
    own = _require_self_booking(member)
    appointment = member.appointment
    schedules = slots.schedules_for(
        appointment.agency, location=own.location, counselor=own.counselor
    )
    found = slots.free_slots(
        schedules,
        now=now,
        only_counselor=appointment.counselor_id,
        except_appointment=appointment,
    )
    # Its own time is no other time.
    return [
        slot
        for slot in found
        if (slot.starts_at, slot.location.pk) != (appointment.starts_at, appointment.location_id)
    ]


@transaction.atomic
def rebook(member: Member, key: str) -> Appointment:
    """Move the person's appointment to another free slot; everyone invited gets the update,
    and their links keep working."""
    member = appointments.locked_member(member)
    own = _require_self_booking(member)
    appointment = member.appointment
    now = timezone.now()
    schedules = slots.schedules_for(
        appointment.agency, location=own.location, counselor=own.counselor
    )
    choice = _choose(key, schedules, now)
    _claim(
        choice,
        now,
        only_counselor=appointment.counselor_id,
        except_appointment=appointment,
    )
    try:
        return appointments.update_appointment(
            appointment,
            by=_actor(appointment.agency_id, own.source_id, "self-service booking"),
            location=choice.schedule.location,
            starts_at=choice.starts_at,
            duration_minutes=choice.schedule.slot_minutes,
        )
    except appointments.NotAllowed:
        raise SlotTaken from None


@transaction.atomic
def cancel(member: Member) -> Appointment:
    """The person cancels their own appointment; everyone invited is told, the time is free."""
    member = appointments.locked_member(member)
    own = _require_self_booking(member)
    appointment = member.appointment
    return appointments.cancel_appointment(
        appointment, by=_actor(appointment.agency_id, own.source_id, "self-service booking")
    )
