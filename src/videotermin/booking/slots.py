"""Free slots: published hours minus closed days, plus extra hours, minus whatever the
counselors have already (appointments not cancelled, slots held for someone).

Hours are wall-clock times in the agency's time zone. Each day's hours are turned into real
instants there and cut into slots in real time, so a slot always lasts its minutes: on the day
clocks go forward the hour that does not exist has no slots, on the day they go back the hour
that happens twice has them twice, and 09:00 stays 09:00 on either side of the change.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from videotermin.agencies.models import Agency, StaffMember
from videotermin.appointments.models import Appointment
from videotermin.booking.models import Hold, Schedule, ScheduleException


def zone_of(agency: Agency) -> tzinfo:
    try:
        return ZoneInfo(agency.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


@dataclass(frozen=True)
class Rules:
    """What a schedule publishes, as plain data."""

    slot_minutes: int
    lead: timedelta
    horizon: timedelta
    # weekday -> [(from, to)]
    weekly: dict[int, list[tuple[time, time]]] = field(default_factory=dict)
    # closed (first day, last day), both included
    closed: list[tuple[date, date]] = field(default_factory=list)
    # day -> [(from, to)]
    extra: dict[date, list[tuple[time, time]]] = field(default_factory=dict)

    @classmethod
    def of(cls, schedule: Schedule) -> "Rules":
        weekly: dict[int, list[tuple[time, time]]] = {}
        for hours in schedule.hours.all():
            weekly.setdefault(hours.weekday, []).append((hours.starts, hours.ends))
        closed: list[tuple[date, date]] = []
        extra: dict[date, list[tuple[time, time]]] = {}
        for exception in schedule.exceptions.all():
            if exception.kind == ScheduleException.Kind.CLOSED:
                closed.append((exception.first_day, exception.last_day))
            elif exception.starts is not None and exception.ends is not None:
                extra.setdefault(exception.first_day, []).append((exception.starts, exception.ends))
        horizon_days = min(schedule.horizon_days, settings.BOOKING_HORIZON_DAYS)
        return cls(
            slot_minutes=schedule.slot_minutes,
            lead=timedelta(hours=schedule.lead_hours),
            horizon=timedelta(days=horizon_days),
            weekly=weekly,
            closed=closed,
            extra=extra,
        )

    def is_closed(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.closed)

    def hours_on(self, day: date) -> list[tuple[time, time]]:
        """The day's hours: its weekday's unless closed, and its extra hours in any case (an
        extra session on a holiday is what it says)."""
        weekly = [] if self.is_closed(day) else self.weekly.get(day.weekday(), [])
        return [*weekly, *self.extra.get(day, [])]


def instant(day: date, wall: time, zone: tzinfo) -> datetime:
    """The real instant of a wall-clock time (in UTC). A time the clock skips is read with the
    offset before the change, as Python does (02:30 on the spring day is 03:30)."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def published(rules: Rules, zone: tzinfo, now: datetime) -> list[tuple[datetime, datetime]]:
    """Every slot (start, end; in UTC) the rules offer from now + lead to now + horizon."""
    earliest, latest = now + rules.lead, now + rules.horizon
    length = timedelta(minutes=rules.slot_minutes)
    first_day = earliest.astimezone(zone).date()
    last_day = latest.astimezone(zone).date()
    slots: set[tuple[datetime, datetime]] = set()
    day = first_day
    while day <= last_day:
        for wall_from, wall_to in rules.hours_on(day):
            start, end = instant(day, wall_from, zone), instant(day, wall_to, zone)
            while start + length <= end:
                if earliest <= start <= latest:
                    slots.add((start, start + length))
                start += length
        day += timedelta(days=1)
    return sorted(slots)


@dataclass(frozen=True)
class Slot:
    """A time someone can book: a schedule's start and the counselors free then."""

    schedule: Schedule
    starts_at: datetime
    minutes: int
    counselors: tuple[int, ...]

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)

    @property
    def location(self):
        return self.schedule.location

    @property
    def key(self) -> str:
        """How a form names the slot: the schedule's public id and the start in seconds."""
        return f"{self.schedule.public_id}.{int(self.starts_at.timestamp())}"


def parse_key(key: str) -> tuple[str, datetime] | None:
    schedule_id, _dot, seconds = (key or "").partition(".")
    if len(schedule_id) != 36 or not seconds.isdigit() or len(seconds) > 12:
        return None
    try:
        return schedule_id, datetime.fromtimestamp(int(seconds), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def counselors_of(schedule: Schedule) -> list[int]:
    """Who holds the schedule's consultations: its counselor, or the location's counselors."""
    staff = StaffMember.objects.filter(agency_id=schedule.agency_id, user__is_active=True)
    if schedule.counselor_id is not None:
        staff = staff.filter(user_id=schedule.counselor_id)
    else:
        staff = staff.filter(location_id=schedule.location_id, role=StaffMember.Role.COUNSELOR)
    return sorted(staff.values_list("user_id", flat=True))


Busy = dict[int, list[tuple[datetime, datetime]]]


def busy_times(
    counselors: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    except_appointment: Appointment | None = None,
    except_hold: Hold | None = None,
) -> Busy:
    """Per counselor: their appointments that are not cancelled and the unexpired holds on
    them, between start and end."""
    ids = list(counselors)
    busy: Busy = {user_id: [] for user_id in ids}
    # An appointment is at most MAX_DURATION long: those starting that much earlier may overlap.
    appointments = Appointment.objects.filter(
        counselor_id__in=ids,
        cancelled_at__isnull=True,
        starts_at__lt=end,
        starts_at__gte=start - timedelta(hours=8),
    )
    if except_appointment is not None:
        appointments = appointments.exclude(pk=except_appointment.pk)
    for counselor_id, starts_at, minutes in appointments.values_list(
        "counselor_id", "starts_at", "duration_minutes"
    ):
        busy[counselor_id].append((starts_at, starts_at + timedelta(minutes=minutes)))
    holds = Hold.objects.filter(
        counselor_id__in=ids,
        expires_at__gt=now,
        starts_at__lt=end,
        starts_at__gte=start - timedelta(hours=8),
    )
    if except_hold is not None:
        holds = holds.exclude(pk=except_hold.pk)
    for counselor_id, starts_at, minutes in holds.values_list(
        "counselor_id", "starts_at", "duration_minutes"
    ):
        busy[counselor_id].append((starts_at, starts_at + timedelta(minutes=minutes)))
    return busy


def is_free(busy: Busy, counselor: int, start: datetime, end: datetime) -> bool:
    return not any(s < end and start < e for s, e in busy.get(counselor, []))


def schedules_for(agency: Agency, *, location=None, counselor=None) -> list[Schedule]:
    """The agency's active schedules a booking link or page offers: all of them, a location's,
    or one counselor's (their own hours, and the hours of locations they work at)."""
    schedules = Schedule.objects.filter(
        agency=agency, active=True, location__active=True
    ).select_related("agency", "location", "counselor")
    if location is not None:
        schedules = schedules.filter(location=location)
    if counselor is not None:
        usual = StaffMember.objects.filter(user=counselor).values_list("location_id", flat=True)
        schedules = schedules.filter(
            Q(counselor=counselor) | Q(counselor__isnull=True, location_id__in=usual)
        )
    return list(schedules.prefetch_related("hours", "exceptions"))


def free_slots(
    schedules: Sequence[Schedule],
    *,
    now: datetime | None = None,
    only_counselor: int | None = None,
    except_appointment: Appointment | None = None,
    except_hold: Hold | None = None,
) -> list[Slot]:
    """The free slots of the schedules, by start; a time offered at one location by several
    schedules is offered once."""
    now = now or timezone.now()
    found: dict[tuple[int, datetime, int], Slot] = {}
    for schedule in schedules:
        counselors = counselors_of(schedule)
        if only_counselor is not None:
            counselors = [c for c in counselors if c == only_counselor]
        if not counselors:
            continue
        times = published(Rules.of(schedule), zone_of(schedule.agency), now)
        if not times:
            continue
        busy = busy_times(
            counselors,
            times[0][0],
            times[-1][1],
            now=now,
            except_appointment=except_appointment,
            except_hold=except_hold,
        )
        for start, end in times:
            free = tuple(c for c in counselors if is_free(busy, c, start, end))
            key = (schedule.location_id, start, schedule.slot_minutes)
            if free and key not in found:
                found[key] = Slot(schedule, start, schedule.slot_minutes, free)
    return sorted(found.values(), key=lambda s: (s.starts_at, s.location.name, s.minutes))


def by_day(slots: Iterable[Slot], zone: tzinfo) -> list[tuple[date, list[Slot]]]:
    """The slots grouped by their local day, in order."""
    days: dict[date, list[Slot]] = {}
    for slot in slots:
        days.setdefault(slot.starts_at.astimezone(zone).date(), []).append(slot)
    return sorted(days.items())
