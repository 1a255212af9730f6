"""Notice consultations that were not held, soon after their planned end.

A no-show is no stored state: it is what an appointment is once its planned end has passed
without the call starting (`Appointment.status()`), and it becomes final with the
consultation's anonymous fact (stats/services.py `record_fact`, which emits
`consultation.no_show`). The purge writes missing facts at the latest before it deletes the
appointment; for an agency with an endpoint that wants the event, this job writes them minutes
after the planned end instead, so the agency's system hears of it the same day.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from videotermin.appointments.models import Appointment, Member
from videotermin.stats.models import FactWritten
from videotermin.stats.services import record_fact
from videotermin.webhooks.models import Endpoint

# Appointments this far back are looked at; older ones get their fact from the purge.
WINDOW = timedelta(days=2)


def note_no_shows(now: datetime | None = None) -> int:
    """Write the facts of the subscribed agencies' appointments that are over without a call;
    returns how many."""
    now = now or timezone.now()
    agencies = {
        endpoint.agency_id
        for endpoint in Endpoint.objects.filter(active=True).only("agency_id", "event_types")
        if "consultation.no_show" in endpoint.event_types
    }
    if not agencies:
        return 0
    candidates = (
        Appointment.objects.filter(
            agency_id__in=agencies,
            call_started_at__isnull=True,
            cancelled_at__isnull=True,
            starts_at__lt=now,
            starts_at__gte=now - WINDOW,
        )
        .exclude(pk__in=FactWritten.objects.values("appointment_id"))
        .only("pk", "starts_at", "duration_minutes")
    )
    written = 0
    for candidate in candidates:
        if candidate.ends_at > now:
            continue
        written += _close(candidate.pk)
    return written


@transaction.atomic
def _close(appointment_id: int) -> int:
    appointment = (
        Appointment.objects.select_for_update().select_related("agency").get(pk=appointment_id)
    )
    if appointment.call_started_at or appointment.cancelled_at:
        return 0
    # Somebody still in the waiting room may yet be admitted: not over until they go.
    if appointment.members.filter(presence=Member.Presence.WAITING).exists():
        return 0
    return 1 if record_fact(appointment) is not None else 0
