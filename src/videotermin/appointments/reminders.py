"""Reminder e-mails before an appointment (J2): `Agency.reminder_hours` before the start (24 and
1 hour unless the agency chose otherwise), to everyone invited by link, in their own language,
each with a new personal link and the calendar file.

One periodic job (appointments/tasks.py) sends whatever is due, every minute, instead of a job
queued per appointment and offset: it reads the appointment as it is at that moment, so a
changed start, a cancellation, a removed person or a changed agency setting needs no queued job
to be found and moved or deleted, and a worker that was down catches up on its next run.

Exactly once: a reminder is claimed (a Reminder row, unique per member, offset and start) in
its own transaction before the e-mail goes out, and marked sent after. A second worker finds the
claim and leaves it; a claim whose worker died before sending is taken over after CLAIM_LEASE.
Only a crash in the moment between the mail server's acceptance and the mark can repeat one.
"""

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from videotermin.agencies.models import Agency
from videotermin.appointments import emails
from videotermin.appointments.models import Member, Reminder
from videotermin.appointments.services import issue_link
from videotermin.audit.services import record

logger = logging.getLogger(__name__)

# A reminder is on time up to LATE after its time. A later one (the worker was down) still goes
# out while the start is at least LATE_CUTOFF away; closer to the start it would arrive while
# the person is already on the way in, so it is skipped.
LATE = timedelta(minutes=30)
LATE_CUTOFF = timedelta(hours=1)
# A claim not marked sent after this long lost its worker; sending takes seconds (SMTP timeout 20).
CLAIM_LEASE = timedelta(minutes=5)
# Offsets beyond this many hours are ignored: a typo must not mail people months ahead.
MAX_HOURS = 24 * 14


def reminder_hours(agency: Agency) -> list[int]:
    """The agency's reminder offsets in hours: whole, positive, distinct, smallest first."""
    return sorted({h for h in _whole(agency.reminder_hours) if 0 < h <= MAX_HOURS})


def reminder_due(member: Member, now: datetime) -> int | None:
    """The offset (hours) of the reminder due for the member now, if any.

    Only the latest reminder whose time has come counts: after a pause of the worker the person
    gets "in one hour", not also the overdue "tomorrow". A reminder whose time was before the
    last invitation or update mail is not sent: that mail had the link and the (new) time.
    """
    appointment = member.appointment
    due = [
        h
        for h in reminder_hours(appointment.agency)
        if appointment.starts_at - timedelta(hours=h) <= now
    ]
    if not due or member.invited_at is None:
        return None
    hours = due[0]
    due_at = appointment.starts_at - timedelta(hours=hours)
    if due_at <= member.invited_at:
        return None
    if now - due_at > LATE and appointment.starts_at - now < LATE_CUTOFF:
        return None
    return hours


def reminded_members(now: datetime):
    """Members who may get a reminder at all: invited by link (not staff), still invited, and
    their appointment neither cancelled nor begun, starting within the longest offset."""
    longest = max(
        (
            h
            for hours in Agency.objects.values_list("reminder_hours", flat=True)
            for h in _whole(hours)
        ),
        default=0,
    )
    return (
        Member.objects.exclude(role__in=Member.STAFF_ROLES)
        .exclude(email="")
        .filter(
            removed_at__isnull=True,
            withdrawn_at__isnull=True,
            invited_at__isnull=False,
            appointment__cancelled_at__isnull=True,
            appointment__call_started_at__isnull=True,
            appointment__call_ended_at__isnull=True,
            appointment__starts_at__gt=now,
            appointment__starts_at__lte=now + timedelta(hours=min(longest, MAX_HOURS)),
        )
        .select_related("appointment__agency")
    )


def _whole(hours: object) -> list[int]:
    """The whole numbers of a stored JSON list (anything else in it is ignored)."""
    return [h for h in hours if type(h) is int] if isinstance(hours, list) else []


def send_due_reminders(now: datetime | None = None) -> int:
    """Send every reminder that is due; returns how many went out."""
    now = now or timezone.now()
    candidates = [
        (member, hours)
        for member in reminded_members(now)
        if (hours := reminder_due(member, now)) is not None
    ]
    done = set(
        Reminder.objects.filter(
            member__in=[member for member, _hours in candidates], sent_at__isnull=False
        ).values_list("member_id", "hours", "starts_at")
    )
    sent = 0
    for member, hours in candidates:
        if (member.pk, hours, member.appointment.starts_at) in done:
            continue
        try:
            sent += send_reminder(member, hours, now=now)
        except Exception:
            # One address the mail server refuses must not hold up everyone else's reminder;
            # the claim lapses and the next run tries again.
            logger.exception("reminder %s h for member %s failed", hours, member.public_id)
    return sent


def send_reminder(member: Member, hours: int, *, now: datetime | None = None) -> bool:
    """Claim the member's reminder `hours` before the current start, send it, mark it sent.

    Returns False when another worker has it, it was sent already, or it is no longer due.
    """
    now = now or timezone.now()
    starts_at = member.appointment.starts_at
    with transaction.atomic():
        reminder = _claim(member, hours, starts_at, now)
        if reminder is None:
            return False
        # Read afresh after the claim: cancelled, removed or moved meanwhile means no reminder.
        fresh = reminded_members(now).filter(pk=member.pk).first()
        if (
            fresh is None
            or fresh.appointment.starts_at != starts_at
            or reminder_due(fresh, now) != hours
        ):
            reminder.delete()
            return False
        token = issue_link(fresh)
    # The e-mail goes out after the claim's commit and outside any transaction, so a slow mail
    # server holds no lock; a crash from here until the mark leaves a claim that lapses.
    member = Member.objects.select_related(
        "appointment__agency", "appointment__location", "appointment__counselor"
    ).get(pk=fresh.pk)
    emails.send(member, emails.Kind.REMINDER, token=token)
    with transaction.atomic():
        Reminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
        record(
            "appointment.reminder_sent",
            agency=member.appointment.agency,
            appointment=member.appointment,
            member=member.audit_ref,
            hours=hours,
        )
    return True


def _claim(member: Member, hours: int, starts_at: datetime, now: datetime) -> Reminder | None:
    """Insert the reminder's row, or take over one whose worker died before sending."""
    try:
        with transaction.atomic():
            return Reminder.objects.create(
                member=member, hours=hours, starts_at=starts_at, claimed_at=now
            )
    except IntegrityError:
        pass
    existing = Reminder.objects.filter(member=member, hours=hours, starts_at=starts_at).first()
    if existing is None or existing.sent_at is not None or existing.claimed_at > now - CLAIM_LEASE:
        return None
    # Compare and set: of two workers taking over the same lapsed claim, one wins.
    taken = Reminder.objects.filter(
        pk=existing.pk, claimed_at=existing.claimed_at, sent_at=None
    ).update(claimed_at=now)
    if not taken:
        return None
    existing.claimed_at = now
    return existing
