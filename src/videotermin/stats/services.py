"""Write the anonymous fact of a consultation: once, at its end or at the latest before its
personal data are deleted (privacy/services.py)."""

from collections import Counter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from videotermin.appointments.models import Appointment
from videotermin.consent.models import ConsentDecision
from videotermin.stats.models import ConsultationFact, FactWritten

Outcome = ConsultationFact.Outcome

# Families that many people use: anything else is counted as "Other", so that a rare or
# made-up User-Agent cannot single anybody out or carry text into the statistics.
BROWSER_FAMILIES = frozenset(
    {
        "Chrome",
        "Chrome Mobile",
        "Chrome Mobile iOS",
        "Chrome Mobile WebView",
        "Chromium",
        "Edge",
        "Edge Mobile",
        "Firefox",
        "Firefox Mobile",
        "Firefox iOS",
        "Mobile Safari",
        "Mobile Safari UI/WKWebView",
        "Opera",
        "Opera Mobile",
        "Safari",
        "Samsung Internet",
    }
)
SYSTEM_FAMILIES = frozenset(
    {"Android", "Chrome OS", "Fedora", "Debian", "iOS", "iPadOS", "Linux", "Mac OS X", "Ubuntu"}
    | {"Windows"}
)
OTHER = "Other"


def family(name: str, known: frozenset[str]) -> str:
    """ "Chrome Mobile 131" -> "Chrome Mobile"; "Windows 10" -> "Windows"; unknown -> "Other"."""
    words = name.split()
    while words and any(character.isdigit() for character in words[-1]):
        words.pop()
    found = " ".join(words)
    return found if found in known else OTHER


def outcome(appointment: Appointment) -> str:
    if appointment.call_started_at is not None:
        return Outcome.HELD
    if appointment.cancelled_at is not None:
        return Outcome.CANCELLED
    return Outcome.NO_SHOW


def _day(appointment: Appointment):
    try:
        zone = ZoneInfo(appointment.agency.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone.get_default_timezone()
    return timezone.localtime(appointment.starts_at, timezone=zone).date()


def record_fact(appointment: Appointment) -> ConsultationFact | None:
    """Write the appointment's fact unless it has one; call inside the caller's transaction.

    Returns the new fact, or None when it was written before.
    """
    _marker, created = FactWritten.objects.get_or_create(appointment_id=appointment.pk)
    if not created:
        return None
    members = list(appointment.members.all())
    externals = [m for m in members if not m.is_staff]
    held = outcome(appointment) == Outcome.HELD
    # Colleagues become members by opening the room, the host with the booking; the people
    # invited by link took part once admitted.
    took_part = [m for m in members if held and (m.is_staff or m.admitted_at)]
    checks = Counter(str(m.check_result) or "missing" for m in externals)
    decisions = Counter(
        ConsentDecision.objects.filter(member__appointment=appointment).values_list(
            "accepted", flat=True
        )
    )
    held_minutes = seconds_to_admit = None
    if held and appointment.call_ended_at and appointment.call_started_at:
        seconds = (appointment.call_ended_at - appointment.call_started_at).total_seconds()
        held_minutes = max(0, round(seconds / 60))
    admitted = sorted(
        (m for m in externals if m.admitted_at and m.waiting_since),
        key=lambda m: m.admitted_at,  # type: ignore[arg-type,return-value]
    )
    if admitted:
        first = admitted[0]
        assert first.admitted_at is not None and first.waiting_since is not None
        seconds_to_admit = max(0, round((first.admitted_at - first.waiting_since).total_seconds()))
    seen = [m for m in externals if m.browser or m.operating_system]
    return ConsultationFact.objects.create(
        agency_id=appointment.agency_id,
        location_id=appointment.location_id,
        day=_day(appointment),
        outcome=outcome(appointment),
        planned_minutes=appointment.duration_minutes,
        held_minutes=held_minutes,
        seconds_to_admit=seconds_to_admit,
        invited=dict(Counter(str(m.role) for m in externals)),
        took_part=dict(Counter(str(m.role) for m in took_part)),
        consents_accepted=decisions[True],
        consents_declined=decisions[False],
        checks_green=checks["green"],
        checks_yellow=checks["yellow"],
        checks_red=checks["red"],
        checks_missing=checks["missing"],
        browsers=dict(Counter(family(m.browser, BROWSER_FAMILIES) for m in seen if m.browser)),
        systems=dict(
            Counter(family(m.operating_system, SYSTEM_FAMILIES) for m in seen if m.operating_system)
        ),
    )
