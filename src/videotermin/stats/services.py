"""Write the anonymous fact of a consultation: once, at its end (calls/services.py), soon after
it was cancelled or missed (`write_due_facts`, run by the worker), or at the latest before its
personal data are deleted (privacy/services.py)."""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from videotermin.appointments.models import Appointment, Member
from videotermin.audit.services import record
from videotermin.consent.models import ConsentDecision
from videotermin.stats.models import ConsultationFact, FactWritten, QualityTally
from videotermin.stats.reports import report
from videotermin.webhooks.outbox import emit

Outcome = ConsultationFact.Outcome
Quality = ConsultationFact.Quality

# The modes a page sends in (docs/protocol.md, "Sending for many"), best first.
MODES = ("high", "saver", "audio")
# Appointments this far back are looked at by write_due_facts; older ones have been deleted,
# each with its fact written by the purge (at most 14 days after they ended).
DUE_WINDOW = timedelta(days=15)
DUE_BATCH = 500

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
    entered = [m for m in externals if m.waiting_since or m.admitted_at]
    tally = QualityTally.objects.filter(appointment_id=appointment.pk).first()
    if outcome(appointment) == Outcome.NO_SHOW:
        emit(appointment, "consultation.no_show")
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
        entered=len(entered),
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
        quality=_quality(tally) if held else "",
        quality_steps_down=min(tally.steps_down, 32767) if held and tally else 0,
    )


def _quality(tally: QualityTally | None) -> str:
    if tally is None:
        return ""
    if tally.lowest == "audio":
        return Quality.AUDIO
    if tally.lowest == "saver":
        return Quality.SAVER
    return Quality.KEPT


def note_sending_mode(appointment_id: int, *, previous: str | None, mode: str) -> None:
    """A page of someone invited by link reported the mode it sends in (its first network
    sample: `previous` None) or changed it: count a step down and keep the lowest mode reached,
    for the consultation's fact. Nothing says whose page it was."""
    if mode not in MODES or (previous is not None and previous not in MODES):
        raise ValueError(f"unknown sending mode {mode!r}")
    tally, _created = QualityTally.objects.get_or_create(appointment_id=appointment_id)
    if previous is None or MODES.index(mode) <= MODES.index(previous):
        return
    lowest = mode
    if tally.lowest in MODES and MODES.index(tally.lowest) > MODES.index(mode):
        lowest = tally.lowest
    QualityTally.objects.filter(pk=tally.pk).update(steps_down=F("steps_down") + 1, lowest=lowest)


def _due(now: datetime):
    """Appointments without a fact that may be over for good: cancelled, or past their planned
    start without a call (the planned end is checked per row)."""
    over = Q(cancelled_at__isnull=False) | Q(starts_at__lt=now)
    return Appointment.objects.filter(
        over, starts_at__gte=now - DUE_WINDOW, call_started_at__isnull=True
    ).exclude(pk__in=FactWritten.objects.values("appointment_id"))


def write_due_facts(now: datetime | None = None) -> int:
    """Write the facts of cancelled and missed consultations soon, so that the statistics count
    them the same day and not only at the deletion; returns how many were written."""
    now = now or timezone.now()
    written = 0
    candidates = _due(now).only("pk", "starts_at", "duration_minutes", "cancelled_at")
    for candidate in candidates.order_by("starts_at")[:DUE_BATCH]:
        if candidate.cancelled_at is None and candidate.ends_at > now:
            continue
        written += _close(candidate.pk, now)
    return written


@transaction.atomic
def _close(appointment_id: int, now: datetime) -> int:
    appointment = (
        Appointment.objects.select_for_update().select_related("agency").get(pk=appointment_id)
    )
    if appointment.call_started_at is not None:
        return 0
    if appointment.cancelled_at is None:
        if appointment.ends_at > now:
            return 0
        # Somebody still in the waiting room may yet be admitted: not over until they go.
        if appointment.members.filter(presence=Member.Presence.WAITING).exists():
            return 0
    return 1 if record_fact(appointment) is not None else 0


@transaction.atomic
def report_for(agency, *, by, location=None, start: date, end: date, kind: str = "api") -> dict:
    """The statistics for a person or a system, audited with the filters: `kind` "page" (seen in
    the workspace), "csv" or "json" (downloaded) or "api". So the agency sees who looked at
    which figures, and who took them out of the application."""
    data = report(agency, location=location, start=start, end=end)
    record(
        "stats.viewed" if kind == "page" else "stats.exported",
        agency=agency,
        by=by,
        start=start.isoformat(),
        end=end.isoformat(),
        location=str(location.public_id) if location is not None else "",
        format=kind,
    )
    return data
