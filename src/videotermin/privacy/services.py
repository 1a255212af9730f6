"""Delete what the consent text promises to delete (N3).

Every agency's appointments are deleted `agency.retention_days` days (at most 14, as the consent
text states) after they ended: with their members (names, e-mail addresses, customer numbers,
device data, check results), links, and consent decisions. Before that, the anonymous fact of
the consultation is written if it is missing (stats/services.py). The audit trail stays: it
names people by pseudonym only, and keeps the appointment's public id; each deleted appointment
gets an entry of its own, each run that deleted any one with the counts.

Outside the appointments: sign-in records of django-axes (usernames, IP addresses, user agents),
expired sessions (which participant pages a browser opened), and the demo's e-mail folder.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from videotermin.agencies.models import Agency
from videotermin.appointments.models import Appointment
from videotermin.audit.services import record
from videotermin.stats.services import record_fact

logger = logging.getLogger(__name__)

# What the consent text promises; Agency.retention_days may only be lower.
PROMISED_DAYS = 14
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


@dataclass
class PurgeReport:
    # Deleted per agency (its id): appointments and the members with them.
    appointments: dict[int, int] = field(default_factory=dict)
    members: dict[int, int] = field(default_factory=dict)
    facts_written: int = 0
    sign_in_records: int = 0
    sessions: int = 0
    emails: int = 0

    @property
    def total_appointments(self) -> int:
        return sum(self.appointments.values())

    @property
    def total_members(self) -> int:
        return sum(self.members.values())


def retention(agency: Agency) -> timedelta:
    return timedelta(days=min(agency.retention_days or PROMISED_DAYS, PROMISED_DAYS))


def ended_at(appointment: Appointment) -> datetime:
    """When the appointment was over: the call's end, the cancellation, else the planned end
    (or the call's start, for a call that never ended)."""
    if appointment.call_ended_at is not None:
        return appointment.call_ended_at
    if appointment.cancelled_at is not None:
        return appointment.cancelled_at
    return max(appointment.ends_at, appointment.call_started_at or appointment.ends_at)


def expired(agency: Agency, now: datetime) -> list[Appointment]:
    """The agency's appointments that ended more than its retention ago."""
    cutoff = now - retention(agency)
    candidates = Appointment.objects.filter(agency=agency).filter(
        Q(call_ended_at__lt=cutoff)
        | Q(call_ended_at__isnull=True, cancelled_at__lt=cutoff)
        | Q(call_ended_at__isnull=True, cancelled_at__isnull=True, starts_at__lt=cutoff)
    )
    return [a for a in candidates.select_related("agency") if ended_at(a) < cutoff]


@transaction.atomic
def _purge_agency(agency: Agency, now: datetime, report: PurgeReport) -> None:
    appointments = members = 0
    for appointment in expired(agency, now):
        # Locked, so that no service changes it between the fact and the deletion.
        appointment = (
            Appointment.objects.select_for_update().select_related("agency").get(pk=appointment.pk)
        )
        if record_fact(appointment) is not None:
            report.facts_written += 1
        count = appointment.members.count()
        # One entry per appointment, so its trail ends with its deletion; like every entry
        # about it, this one keeps the public id once the appointment row is gone.
        record(
            "privacy.appointment_deleted",
            agency=agency,
            appointment=appointment,
            members=count,
            retention_days=retention(agency).days,
        )
        members += count
        appointment.delete()
        appointments += 1
    if appointments:
        report.appointments[agency.pk] = appointments
        report.members[agency.pk] = members
        record(
            "privacy.purged",
            agency=agency,
            appointments=appointments,
            members=members,
            retention_days=retention(agency).days,
        )


def _purge_sign_ins(now: datetime, agencies: list[Agency]) -> int:
    """django-axes' records: for an agency's staff after its retention, for everybody (unknown
    usernames too) after the longest."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    deleted = 0
    models = (AccessAttempt, AccessFailureLog, AccessLog)
    username_field = get_user_model().USERNAME_FIELD
    for agency in agencies:
        if retention(agency).days >= PROMISED_DAYS:
            continue
        usernames = get_user_model().objects.filter(staff__agency=agency).values(username_field)
        for model in models:
            deleted += (
                model.objects.filter(
                    username__in=usernames, attempt_time__lt=now - retention(agency)
                )
                .delete()[1]
                .get(model._meta.label, 0)
            )
    for model in models:
        deleted += (
            model.objects.filter(attempt_time__lt=now - timedelta(days=PROMISED_DAYS))
            .delete()[1]
            .get(model._meta.label, 0)
        )
    return deleted


def _purge_sessions(now: datetime) -> int:
    """Expired sessions: they name the participants whose pages a browser opened."""
    from importlib import import_module

    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore
    if hasattr(store, "get_model_class"):
        return store.get_model_class().objects.filter(expire_date__lt=now).delete()[0]
    store.clear_expired()
    return 0


def _purge_emails(now: datetime, agencies: list[Agency]) -> int:
    """The demo's e-mail folder holds names and links: nothing there outlives the shortest
    retention of any agency (the SMTP backend keeps nothing)."""
    if settings.EMAIL_BACKEND != FILE_BACKEND:
        return 0
    folder = Path(getattr(settings, "EMAIL_FILE_PATH", "") or "")
    if not str(folder) or not folder.is_dir():
        return 0
    days = min((retention(agency) for agency in agencies), default=timedelta(PROMISED_DAYS))
    cutoff = (now - days).timestamp()
    deleted = 0
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def purge(now: datetime | None = None) -> PurgeReport:
    """Delete everything personal whose time is up; safe to run at any time, and again."""
    now = now or timezone.now()
    report = PurgeReport()
    agencies = list(Agency.objects.order_by("pk"))
    for agency in agencies:
        _purge_agency(agency, now, report)
    report.sign_in_records = _purge_sign_ins(now, agencies)
    report.sessions = _purge_sessions(now)
    report.emails = _purge_emails(now, agencies)
    logger.info(
        "purge: %d appointments with %d members deleted, %d facts written, %d sign-in records, "
        "%d sessions, %d e-mails",
        report.total_appointments,
        report.total_members,
        report.facts_written,
        report.sign_in_records,
        report.sessions,
        report.emails,
    )
    return report
