"""Reminders (J2): Alice books for Dana (German) with Olga as her interpreter (English); both are
reminded 24 hours and 1 hour before the start, each once, in their own language, with a working
link and the calendar file; nobody is reminded of a cancelled appointment; a new start is
reminded of anew."""

import re
import tempfile
import time
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from tests.personas import interpreter_invitee
from tests.test_worker import manage

from videotermin.appointments import reminders, services
from videotermin.appointments.models import Member, Reminder
from videotermin.appointments.tasks import send_reminders
from videotermin.audit.models import AuditEntry

LINK = re.compile(r"https?://\S+/j/[\w-]+/")


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def invite(book, django_capture_on_commit_callbacks):
    """Book for Dana and Olga, with the invitations really sent (and the outbox emptied)."""

    def make(starts_in=timedelta(days=3)):
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(starts_in=starts_in, extras=[interpreter_invitee()])
        mail.outbox.clear()
        return booking

    return make


def hours_before(appointment, hours: float, late=timedelta(minutes=1)):
    return appointment.starts_at - timedelta(hours=hours) + late


def test_each_person_is_reminded_in_their_own_language_with_a_new_link_and_the_calendar_file(
    invite,
):
    booking = invite()
    appointment = booking.appointment

    assert reminders.send_due_reminders(now=hours_before(appointment, 24)) == 2

    dana, olga = (
        next(m for m in mail.outbox if m.to == [a])
        for a in ("dana@example.org", "olga@example.org")
    )
    assert dana.subject.startswith("Erinnerung: Ihr Videotermin am")
    assert "Sie" in dana.body and "Erinnerung an Ihren Videotermin" in dana.alternatives[0][0]
    assert olga.subject.startswith("Reminder: your video appointment on")
    assert "interpreter" in olga.body.lower()
    for message, member in ((dana, booking.citizen), (olga, booking.extras[0][0])):
        [link] = set(LINK.findall(message.body))
        token = link.rstrip("/").rsplit("/", 1)[1]
        assert services.resolve_link(token).pk == member.pk
        assert link not in {booking.token, booking.extras[0][1]}
        name, calendar, kind = message.attachments[0]
        assert name.endswith(".ics") and kind.startswith("text/calendar")
        calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
        assert f"UID:{appointment.public_id}@videotermin" in calendar
        assert link in calendar.replace("\r\n ", "")
    assert AuditEntry.objects.filter(action="videotermin.appointment.reminder_sent").count() == 2


def test_each_reminder_goes_out_once_per_person_and_offset(invite):
    appointment = invite().appointment

    assert reminders.send_due_reminders(now=hours_before(appointment, 24)) == 2
    assert (
        reminders.send_due_reminders(now=hours_before(appointment, 24, timedelta(minutes=2))) == 0
    )
    assert reminders.send_due_reminders(now=hours_before(appointment, 1)) == 2
    assert reminders.send_due_reminders(now=hours_before(appointment, 1, timedelta(minutes=5))) == 0

    assert len(mail.outbox) == 4
    assert sorted(Reminder.objects.values_list("hours", flat=True)) == [1, 1, 24, 24]


def test_the_agency_chooses_when_reminders_go_out(invite, agency):
    agency.reminder_hours = [48]
    agency.save()
    appointment = invite().appointment

    assert reminders.send_due_reminders(now=hours_before(appointment, 49)) == 0
    assert reminders.send_due_reminders(now=hours_before(appointment, 48)) == 2
    assert reminders.send_due_reminders(now=hours_before(appointment, 1)) == 0


def test_nobody_is_reminded_of_a_cancelled_appointment(invite, counselor):
    appointment = invite().appointment
    services.cancel_appointment(appointment, by=counselor)
    mail.outbox.clear()

    assert reminders.send_due_reminders(now=hours_before(appointment, 24)) == 0
    assert reminders.send_due_reminders(now=hours_before(appointment, 1)) == 0
    assert mail.outbox == []


def test_a_person_taken_off_the_appointment_and_the_staff_are_not_reminded(invite, counselor):
    booking = invite()
    olga = booking.extras[0][0]
    services.remove_member(olga, by=counselor)
    services.join_as_staff(booking.appointment, counselor)
    mail.outbox.clear()

    assert reminders.send_due_reminders(now=hours_before(booking.appointment, 24)) == 1
    assert [message.to for message in mail.outbox] == [["dana@example.org"]]


def test_changing_the_start_reschedules_the_reminders(
    invite, counselor, django_capture_on_commit_callbacks
):
    appointment = invite().appointment
    assert reminders.send_due_reminders(now=hours_before(appointment, 24)) == 2
    old_start = appointment.starts_at

    with django_capture_on_commit_callbacks(execute=True):
        moved = services.update_appointment(
            appointment, by=counselor, starts_at=old_start + timedelta(days=2)
        )
    mail.outbox.clear()

    # Nothing at the old start's hour, the reminders at the new start's.
    assert reminders.send_due_reminders(now=old_start - timedelta(minutes=59)) == 0
    assert reminders.send_due_reminders(now=hours_before(moved, 24)) == 2
    assert reminders.send_due_reminders(now=hours_before(moved, 1)) == 2
    assert len(mail.outbox) == 4


def test_an_earlier_start_within_the_day_skips_the_reminder_the_update_mail_replaced(
    invite, counselor, django_capture_on_commit_callbacks
):
    appointment = invite().appointment
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.update_appointment(
            appointment, by=counselor, starts_at=timezone.now() + timedelta(hours=5)
        )
    mail.outbox.clear()

    assert reminders.send_due_reminders(now=hours_before(moved, 1)) == 2
    assert set(Reminder.objects.values_list("hours", flat=True)) == {1}


def test_after_a_pause_only_the_latest_due_reminder_goes_out(invite):
    appointment = invite().appointment

    # The worker was down from the day before until 50 minutes before the start.
    assert reminders.send_due_reminders(now=appointment.starts_at - timedelta(minutes=50)) == 2
    assert reminders.send_due_reminders(now=appointment.starts_at - timedelta(minutes=40)) == 0
    assert set(Reminder.objects.values_list("hours", flat=True)) == {1}


def test_a_reminder_long_overdue_shortly_before_the_start_is_skipped(invite):
    appointment = invite().appointment

    assert reminders.send_due_reminders(now=appointment.starts_at - timedelta(minutes=20)) == 0
    assert reminders.send_due_reminders(now=appointment.starts_at + timedelta(minutes=1)) == 0


def test_a_reminder_claimed_by_a_worker_that_died_before_sending_goes_out_once_later(invite):
    booking = invite()
    appointment = booking.appointment
    now = hours_before(appointment, 24, timedelta(minutes=10))
    for member, claimed in (
        (booking.citizen, now - timedelta(minutes=8)),
        (booking.extras[0][0], now),
    ):
        Reminder.objects.create(
            member=member, hours=24, starts_at=appointment.starts_at, claimed_at=claimed
        )

    # Dana's claim has lapsed: sent now; Olga's is another worker's, busy sending it.
    assert reminders.send_due_reminders(now=now) == 1
    assert reminders.send_due_reminders(now=now + timedelta(minutes=1)) == 0
    assert [message.to for message in mail.outbox] == [["dana@example.org"]]


def sent_reminders(folder: Path) -> list[tuple[str, str]]:
    """(recipient, subject) of each e-mail the file backend wrote."""
    found = []
    for path in folder.iterdir():
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                message = message_from_bytes(raw.strip())
                found.append((message["To"], message["Subject"]))
    return found


def wait_until(condition, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def runs_of_send_reminders() -> int:
    return DBTaskResult.objects.filter(
        task_path=send_reminders.module_path, status=TaskResultStatus.SUCCESSFUL
    ).count()


@pytest.mark.django_db(transaction=True)
def test_reminders_go_out_exactly_once_across_a_killed_worker_and_two_restarted_at_once(invite):
    booking = invite(starts_in=timedelta(minutes=50))
    # Booked the day before: the one-hour reminder is due (since ten minutes).
    Member.objects.filter(appointment=booking.appointment).update(
        invited_at=timezone.now() - timedelta(days=1)
    )
    with tempfile.TemporaryDirectory(prefix="videotermin-mail-") as folder:
        env = {"EMAIL_FILE_PATH": folder}
        worker_args = ("db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1")
        assert manage("schedule").wait(timeout=60) == 0
        first = manage(*worker_args, **env)
        try:
            wait_until(
                lambda: Reminder.objects.filter(sent_at__isnull=False).count() == 2,
                what="the first worker's reminders",
            )
        finally:
            first.kill()
            first.wait(timeout=10)

        # The next runs become due at once; two workers start together after the crash.
        done = runs_of_send_reminders()
        DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())
        restarted = [manage(*worker_args, **env) for _worker in range(2)]
        try:
            wait_until(lambda: runs_of_send_reminders() > done, what="a run after the restart")
        finally:
            for worker in restarted:
                worker.kill()
                worker.wait(timeout=10)

        mails = sent_reminders(Path(folder))
    assert sorted(to for to, _subject in mails) == ["dana@example.org", "olga@example.org"]
    assert sorted(Reminder.objects.values_list("hours", flat=True)) == [1, 1]
