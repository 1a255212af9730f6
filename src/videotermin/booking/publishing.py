"""Publishing video-consultation hours and the public booking pages: the staff's side.

A counselor publishes hours for themselves; an agency administrator for a location (its
counselors) or for any counselor of the agency, and turns the public booking pages on and off.
Every change is atomic and audited; nobody reaches another agency's hours.
"""

from datetime import date, time

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.audit.services import record
from videotermin.booking.models import BookingPage, Schedule, ScheduleException, WeeklyHours

MIN_SLOT_MINUTES, MAX_SLOT_MINUTES = 10, 240
MAX_LEAD_HOURS = 24 * 30
MAX_HORIZON_DAYS = 365


class NotAllowed(Exception):
    """A change that the rules forbid; the message is for the staff member."""


def _staff(by) -> StaffMember:
    staff = getattr(by, "staff", None)
    if staff is None or not by.is_active:
        raise NotAllowed(_("Only staff of this agency may do this."))
    return staff


def may_manage(schedule: Schedule, by) -> bool:
    """Administrators manage their agency's hours, counselors their own."""
    staff = getattr(by, "staff", None)
    if staff is None or not by.is_active or staff.agency_id != schedule.agency_id:
        return False
    return staff.is_admin or schedule.counselor_id == by.pk


def _require_manage(schedule: Schedule, by) -> None:
    if not may_manage(schedule, by):
        raise NotAllowed(_("You may change only your own consultation hours."))


def _check_owner(agency: Agency, by, location: Location, counselor) -> None:
    staff = _staff(by)
    if staff.agency_id != agency.pk:
        raise NotAllowed(_("Only staff of this agency may do this."))
    if location.agency_id != agency.pk:
        raise NotAllowed(_("This location belongs to another agency."))
    if not staff.is_admin and (counselor is None or counselor.pk != by.pk):
        raise NotAllowed(_("You may change only your own consultation hours."))
    if (
        counselor is not None
        and not StaffMember.objects.filter(
            user=counselor, agency=agency, user__is_active=True
        ).exists()
    ):
        raise NotAllowed(_("The counselor must be an active member of this agency's staff."))


def _check_numbers(slot_minutes: int, lead_hours: int, horizon_days: int) -> None:
    if not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES:
        raise NotAllowed(_("A slot lasts between 10 and 240 minutes."))
    if not 0 <= lead_hours <= MAX_LEAD_HOURS:
        raise NotAllowed(_("The lead time is between 0 and 720 hours."))
    if not 1 <= horizon_days <= min(MAX_HORIZON_DAYS, settings.BOOKING_HORIZON_DAYS):
        raise NotAllowed(_("Slots can be offered between 1 and 365 days ahead."))


@transaction.atomic
def create_schedule(
    agency: Agency,
    *,
    by,
    location: Location,
    counselor=None,
    slot_minutes: int = 30,
    lead_hours: int = 24,
    horizon_days: int = 28,
    active: bool = True,
) -> Schedule:
    """Publish hours: a counselor's own, or (administrators) a location's or a counselor's."""
    _check_owner(agency, by, location, counselor)
    _check_numbers(slot_minutes, lead_hours, horizon_days)
    schedule = Schedule.objects.create(
        agency=agency,
        location=location,
        counselor=counselor,
        slot_minutes=slot_minutes,
        lead_hours=lead_hours,
        horizon_days=horizon_days,
        active=active,
    )
    record(
        "booking.schedule_created",
        agency=agency,
        by=by,
        schedule=str(schedule.public_id),
        location=str(location.public_id),
        staff=f"staff:{counselor.pk}" if counselor is not None else "",
    )
    return schedule


SETTINGS_FIELDS = ("location", "slot_minutes", "lead_hours", "horizon_days", "active")


def _locked(schedule: Schedule) -> Schedule:
    return Schedule.objects.select_for_update().select_related("agency").get(pk=schedule.pk)


@transaction.atomic
def change_schedule(schedule: Schedule, *, by, **changes) -> Schedule:
    """Change where, how long, how early and how far ahead; booked appointments stay."""
    schedule = _locked(schedule)
    _require_manage(schedule, by)
    changed = []
    for name, value in changes.items():
        if name not in SETTINGS_FIELDS:
            raise ValueError(f"{name} cannot be changed")
        if getattr(schedule, name) != value:
            setattr(schedule, name, value)
            changed.append(name)
    if not changed:
        return schedule
    if schedule.location.agency_id != schedule.agency_id:
        raise NotAllowed(_("This location belongs to another agency."))
    _check_numbers(schedule.slot_minutes, schedule.lead_hours, schedule.horizon_days)
    schedule.save()
    _changed(schedule, by, sorted(changed))
    return schedule


def _changed(schedule: Schedule, by, fields: list[str]) -> None:
    record(
        "booking.schedule_changed",
        agency=schedule.agency,
        by=by,
        schedule=str(schedule.public_id),
        fields=fields,
    )


@transaction.atomic
def remove_schedule(schedule: Schedule, *, by) -> None:
    """Take the hours down; appointments booked in them stay."""
    schedule = _locked(schedule)
    _require_manage(schedule, by)
    public_id = str(schedule.public_id)
    schedule.delete()
    record("booking.schedule_removed", agency=schedule.agency, by=by, schedule=public_id)


def _require_order(starts: time, ends: time) -> None:
    if starts >= ends:
        raise NotAllowed(_("The hours must end after they start."))


@transaction.atomic
def add_hours(schedule: Schedule, *, by, weekday: int, starts: time, ends: time) -> WeeklyHours:
    schedule = _locked(schedule)
    _require_manage(schedule, by)
    if not 0 <= weekday <= 6:
        raise ValueError("weekday 0 (Monday) to 6 (Sunday)")
    _require_order(starts, ends)
    if schedule.hours.filter(weekday=weekday, starts__lt=ends, ends__gt=starts).exists():
        raise NotAllowed(_("These hours overlap hours already published for that day."))
    hours = WeeklyHours.objects.create(schedule=schedule, weekday=weekday, starts=starts, ends=ends)
    _changed(schedule, by, ["hours"])
    return hours


@transaction.atomic
def remove_hours(hours: WeeklyHours, *, by) -> None:
    schedule = _locked(hours.schedule)
    _require_manage(schedule, by)
    WeeklyHours.objects.filter(pk=hours.pk, schedule=schedule).delete()
    _changed(schedule, by, ["hours"])


@transaction.atomic
def add_closure(
    schedule: Schedule, *, by, first_day: date, last_day: date | None = None
) -> ScheduleException:
    """Close whole days (a holiday, a closed week): no slots on them but extra hours."""
    schedule = _locked(schedule)
    _require_manage(schedule, by)
    last_day = last_day or first_day
    if last_day < first_day:
        raise NotAllowed(_("The last day must not lie before the first."))
    closure = ScheduleException.objects.create(
        schedule=schedule,
        kind=ScheduleException.Kind.CLOSED,
        first_day=first_day,
        last_day=last_day,
    )
    _changed(schedule, by, ["exceptions"])
    return closure


@transaction.atomic
def add_extra_hours(
    schedule: Schedule, *, by, day: date, starts: time, ends: time
) -> ScheduleException:
    """Offer hours on one day besides the weekly ones."""
    schedule = _locked(schedule)
    _require_manage(schedule, by)
    _require_order(starts, ends)
    extra = ScheduleException.objects.create(
        schedule=schedule,
        kind=ScheduleException.Kind.EXTRA,
        first_day=day,
        last_day=day,
        starts=starts,
        ends=ends,
    )
    _changed(schedule, by, ["exceptions"])
    return extra


@transaction.atomic
def remove_exception(exception: ScheduleException, *, by) -> None:
    schedule = _locked(exception.schedule)
    _require_manage(schedule, by)
    ScheduleException.objects.filter(pk=exception.pk, schedule=schedule).delete()
    _changed(schedule, by, ["exceptions"])


@transaction.atomic
def set_page(agency: Agency, *, by, location: Location | None = None, enabled: bool) -> BookingPage:
    """Turn the agency's public booking page (or a location's) on or off: administrators."""
    staff = _staff(by)
    if staff.agency_id != agency.pk or not staff.is_admin:
        raise NotAllowed(_("Only administrators of this agency may do this."))
    if location is not None and location.agency_id != agency.pk:
        raise NotAllowed(_("This location belongs to another agency."))
    Agency.objects.select_for_update().get(pk=agency.pk)
    page, _created = BookingPage.objects.get_or_create(agency=agency, location=location)
    if page.enabled != enabled:
        page.enabled = enabled
        page.save(update_fields=["enabled"])
        record(
            "booking.page_switched",
            agency=agency,
            by=by,
            page=str(page.public_id),
            location=str(location.public_id) if location else "",
            enabled=enabled,
        )
    return page
