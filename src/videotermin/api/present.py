"""Appointments and members as the API shows them, their ETags, and the filters of the list.

Staff and locations are named by their public ids, never by database ids; people invited by
link by what the agency's system sent (name, e-mail, language), nothing the consultation
recorded about their devices.
"""

import hashlib
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse

from videotermin.agencies.models import Agency, StaffMember
from videotermin.appointments.models import Appointment, Member, Status
from videotermin.appointments.services import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES


def link_url(token: str) -> str:
    """The personal link with this token, as the member opens it."""
    return settings.SITE_URL + reverse("journey:link", args=[token])


def member_state(member: Member) -> str | None:
    """What an invited person has done so far; None for staff."""
    if member.is_staff:
        return None
    if member.removed_at:
        return "removed"
    if member.withdrawn_at:
        return "withdrawn"
    if member.check_result:
        return "checked"
    if member.consented_at:
        return "consented"
    if member.declined_at:
        return "declined"
    return "invited"


def _staff_id(user: Any) -> str | None:
    staff = getattr(user, "staff", None) if user is not None else None
    return str(staff.public_id) if staff is not None else None


def member_data(member: Member) -> dict[str, Any]:
    invited = not member.is_staff
    return {
        "id": str(member.public_id),
        "role": member.role,
        "state": member_state(member),
        "presence": member.presence,
        "name": member.name if invited else None,
        "email": member.email if invited else None,
        "language": member.language if invited else None,
        "customer_number": member.customer_number if member.role == Member.Role.CITIZEN else None,
        "counselor": _staff_id(member.user) if not invited else None,
        "waiting_since": _time(member.waiting_since),
        "admitted_at": _time(member.admitted_at),
        "left_at": _time(member.left_at),
        "removed_at": _time(member.removed_at),
    }


def appointment_data(appointment: Appointment, now: datetime | None = None) -> dict[str, Any]:
    """The appointment with all its members (the removed ones too, marked so)."""
    return {
        "id": str(appointment.public_id),
        "location": str(appointment.location.public_id),
        "counselor": _staff_id(appointment.counselor),
        "starts_at": _time(appointment.starts_at),
        "ends_at": _time(appointment.ends_at),
        "duration_minutes": appointment.duration_minutes,
        "state": appointment.status(now).value,
        "created_at": _time(appointment.created_at),
        "cancelled_at": _time(appointment.cancelled_at),
        "call_started_at": _time(appointment.call_started_at),
        "call_ended_at": _time(appointment.call_ended_at),
        "members": [member_data(member) for member in appointment.members.all()],
    }


def _time(value: datetime | None) -> str | None:
    # Always in UTC: the same instant reads the same, whatever offset it was booked with.
    return value.astimezone(UTC).isoformat() if value is not None else None


def etag(data: dict[str, Any]) -> str:
    """A strong validator of the representation: it changes whenever anything shown does."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def matches(if_match: str, current: str) -> bool:
    """RFC 9110 If-Match: `*`, or one of the listed strong validators (weak ones never match)."""
    if if_match.strip() == "*":
        return True
    return any(tag.strip() == current for tag in if_match.split(","))


def appointments_of(agency_id: int) -> QuerySet[Appointment]:
    """The agency's appointments with what their representation needs, in few queries."""
    members = Member.objects.select_related("user__staff").order_by("pk")
    return (
        Appointment.objects.filter(agency_id=agency_id)
        .select_related("location", "counselor__staff", "agency")
        .prefetch_related(Prefetch("members", queryset=members))
    )


# The day, location and state filters of the list ------------------------------------------


def day_filter(agency: Agency, day) -> Q:
    """Appointments that start on this day in the agency's time zone."""
    zone = ZoneInfo(agency.time_zone)
    try:
        start = datetime.combine(day, time.min, zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)
    except OverflowError:
        # The calendar's first or last day: no appointment can start there.
        return Q(pk__in=[])
    return Q(starts_at__gte=start, starts_at__lt=end)


def _present(role_filter: Q) -> QuerySet[Member]:
    return Member.objects.filter(role_filter, appointment=OuterRef("pk"), removed_at__isnull=True)


def _over(agency_id: int, now: datetime) -> Q:
    """Appointments whose planned end has passed. The end is start plus duration, which not
    every database adds up: whatever started longer ago than the longest duration is over, and
    the few of the last hours are looked at one by one."""
    longest = now - timedelta(minutes=MAX_DURATION_MINUTES)
    recent = Appointment.objects.filter(
        agency_id=agency_id,
        starts_at__gt=longest,
        starts_at__lte=now - timedelta(minutes=MIN_DURATION_MINUTES),
    ).values_list("pk", "starts_at", "duration_minutes")
    ended = [pk for pk, start, minutes in recent if start + timedelta(minutes=minutes) <= now]
    return Q(starts_at__lte=longest) | Q(pk__in=ended)


def state_filter(agency_id: int, state: str, now: datetime) -> Q:
    """The appointments whose `Appointment.status()` is `state` now, as a query: the same
    decisions in the same order."""
    externals = ~Q(role__in=Member.STAFF_ROLES)
    citizen = Q(role=Member.Role.CITIZEN)
    cancelled = Q(cancelled_at__isnull=False)
    done = Q(cancelled_at__isnull=True, call_ended_at__isnull=False)
    running = Q(cancelled_at__isnull=True, call_ended_at__isnull=True)
    in_call = running & Q(call_started_at__isnull=False)
    open_ = running & Q(call_started_at__isnull=True)
    waiting = Q(Exists(_present(externals).filter(presence=Member.Presence.WAITING)))
    withdrawn = Q(Exists(_present(citizen).filter(withdrawn_at__isnull=False)))
    over = _over(agency_id, now)
    checked = Q(Exists(_present(citizen).exclude(check_result="")))
    consented = Q(Exists(_present(citizen).filter(consented_at__isnull=False)))
    before = open_ & ~waiting & ~withdrawn & ~over
    return {
        Status.CANCELLED: cancelled,
        Status.DONE: done,
        Status.IN_CALL: in_call,
        Status.WAITING: open_ & waiting,
        Status.WITHDRAWN: open_ & ~waiting & withdrawn,
        Status.NO_SHOW: open_ & ~waiting & ~withdrawn & over,
        Status.CHECKED: before & checked,
        Status.CONSENTED: before & ~checked & consented,
        Status.INVITED: before & ~checked & ~consented,
    }[Status(state)]


def staff_of(agency_id: int) -> QuerySet[StaffMember]:
    # Analysts read statistics only; they host nothing.
    return (
        StaffMember.objects.filter(agency_id=agency_id)
        .exclude(role=StaffMember.Role.ANALYST)
        .select_related("user", "location")
    )
