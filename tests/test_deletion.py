"""What the consent text promises (N3): 14 days after an appointment ended (fewer where the
agency says so) nothing personal about it is left anywhere; anonymous statistics, the survey
and the pseudonymous audit trail stay."""

import json
import logging
import os
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.personas import PASSWORD, agree, interpreter_invitee

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment, Member
from videotermin.audit.models import AuditEntry
from videotermin.calls import services as calls
from videotermin.consent import services as consent
from videotermin.consent.models import ConsentDecision
from videotermin.lib.tokens import hash_token
from videotermin.privacy.services import purge
from videotermin.stats.models import ConsultationFact

NAME = "Zacharias Quenstedt-Wyrzykowski"
EMAIL = "zacharias.quenstedt@wyrzykowski.example"
CUSTOMER_NUMBER = "X9Q7Z3"
INTERPRETER = "Ottilie Brzęczyszczykiewicz"
INTERPRETER_EMAIL = "ottilie@brzeczyszczykiewicz.example"
ADDRESS = "203.0.113.57"
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.39 Mobile Safari/537.36"
)
# Stored from the User-Agent while the appointment exists; the statistics keep the families.
BROWSER, SYSTEM = "Chrome Mobile 131", "Android 14"
MISTYPED_USERNAME = "zacharias.q"
DEVICE_LABEL = "Quenstedts Kamera HD-4711"
PSEUDONYM = re.compile(r"^(|staff:\d+|member:[0-9a-f-]{36})$")


def everything_stored() -> str:
    """Every row of every table of every installed app, as one text."""
    rows = []
    for model in apps.get_models(include_auto_created=True):
        for row in model._default_manager.values():
            rows.append(json.dumps(row, default=str, ensure_ascii=False))
    return "\n".join(rows)


def mail_folder_text(folder) -> str:
    return "\n".join(
        path.read_bytes().decode("utf-8", "replace") for path in folder.iterdir() if path.is_file()
    )


def found(data: list[str], text: str) -> list[str]:
    return [datum for datum in data if datum.lower() in text.lower()]


def later_by(monkeypatch, delta: timedelta) -> None:
    """Move the clock: everything that asks Django for the time gets now + delta."""
    moved = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moved)


def end(appointment: Appointment, *, host: Member, people: list[Member]) -> None:
    """The host holds the call with these people and ends it."""
    calls.connect(host, session="h" * 16, channel="channel-host")
    for index, member in enumerate(people):
        calls.connect(member, session=f"{index}" * 16, channel=f"channel-{index}")
        calls.admit(member, by=host)
    calls.end_call(appointment, by=host)


@pytest.fixture
def mail_folder(settings, tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(folder)
    return folder


@pytest.fixture
def held(book, counselor):
    """Dana's consultation, held with Alice and ended just now."""
    booking = book()
    citizen = agree(booking.citizen)
    appointment = booking.appointment
    end(appointment, host=appointment.members.get(user=counselor), people=[citizen])
    appointment.refresh_from_db()
    return appointment


def test_after_fourteen_days_nothing_personal_is_left_in_the_database_mails_or_logs(
    counselor, location, mail_folder, caplog, monkeypatch, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    browser = Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=USER_AGENT)
    # Somebody mistypes a counselor's name at the sign-in, and Alice signs in from there too.
    browser.post(reverse("staff:login"), {"username": MISTYPED_USERNAME, "password": "wrong"})
    staff_browser = Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=USER_AGENT)
    staff_browser.post(reverse("staff:login"), {"username": "alice", "password": PASSWORD})

    with django_capture_on_commit_callbacks(execute=True):
        booking = appointments.create_appointment(
            by=counselor,
            location=location,
            starts_at=timezone.now() + timedelta(minutes=2),
            citizen=appointments.Invitee(
                name=NAME, email=EMAIL, language="de", customer_number=CUSTOMER_NUMBER
            ),
            extras=[interpreter_invitee(name=INTERPRETER, email=INTERPRETER_EMAIL)],
        )
    appointment, citizen = booking.appointment, booking.citizen
    interpreter, interpreter_token = booking.extras[0]

    # The citizen opens the link, agrees, and the device check stores its result.
    assert browser.get(reverse("journey:link", args=[booking.token])).status_code == 302
    text = consent.current_text(appointment.agency, "de")
    browser.post(
        reverse("journey:consent", args=[citizen.public_id]),
        {"text": text.pk, "decision": "accept"},
    )
    check = {
        "result": "yellow",
        "details": {"camera": True, "microphone": True, "rtt_ms": 87.25, "down_kbps": 7345.5}
        | {"cameraLabel": DEVICE_LABEL},
    }
    response = browser.post(
        reverse("journey:check_result", args=[citizen.public_id]),
        json.dumps(check),
        content_type="application/json",
    )
    assert response.status_code == 200
    agree(interpreter)

    # The call: Alice admits both, and ends it.
    host = appointment.members.get(user=counselor)
    calls.connect(host, session="h" * 16, channel="channel-host")
    calls.connect(citizen, session="c" * 16, channel="channel-c", user_agent=USER_AGENT)
    calls.connect(interpreter, session="i" * 16, channel="channel-i", user_agent=USER_AGENT)
    calls.admit(citizen, by=host)
    calls.admit(interpreter, by=host)
    calls.end_call(appointment, by=host)

    data = [
        NAME,
        "Quenstedt",
        "Wyrzykowski",
        EMAIL,
        CUSTOMER_NUMBER,
        INTERPRETER,
        INTERPRETER_EMAIL,
        ADDRESS,
        USER_AGENT,
        "6778.39",
        BROWSER,
        SYSTEM,
        MISTYPED_USERNAME,
        DEVICE_LABEL,
        "7345.5",
        booking.token,
        interpreter_token,
        hash_token(booking.token),
        hash_token(interpreter_token),
    ]
    # The search works: before the deletion, the data are there.
    stored = everything_stored()
    for datum in [NAME, EMAIL, CUSTOMER_NUMBER, INTERPRETER, ADDRESS, BROWSER, DEVICE_LABEL]:
        assert datum.lower() in stored.lower()
    assert Session.objects.exists()
    assert any(mail_folder.iterdir())
    assert NAME in mail_folder_text(mail_folder)

    later_by(monkeypatch, timedelta(days=14, minutes=5))
    output = StringIO()
    call_command("purge", stdout=output)

    assert found(data, everything_stored()) == []
    assert found(data, mail_folder_text(mail_folder)) == []
    assert found(data, caplog.text + output.getvalue()) == []
    assert found(data, "\n".join(record.getMessage() for record in caplog.records)) == []
    # What stays: the statistics and the trail.
    assert ConsultationFact.objects.count() == 1
    assert AuditEntry.objects.filter(appointment_ref=str(appointment.public_id)).exists()


def test_an_agency_with_seven_days_deletes_after_seven_days(agency, held):
    agency.retention_days = 7
    agency.save()
    ended = held.call_ended_at
    purge(now=ended + timedelta(days=7) - timedelta(minutes=1))
    assert Appointment.objects.filter(pk=held.pk).exists()
    report = purge(now=ended + timedelta(days=7, minutes=1))
    assert not Appointment.objects.filter(pk=held.pk).exists()
    assert report.appointments == {agency.pk: 1}
    assert not Member.objects.filter(appointment_id=held.pk).exists()


def test_an_appointment_within_its_retention_is_kept(held):
    purge(now=held.call_ended_at + timedelta(days=13, hours=23))
    assert Appointment.objects.filter(pk=held.pk).exists()
    assert Member.objects.filter(appointment=held, name="Dana Yilmaz").exists()


def test_an_appointment_not_yet_held_is_kept(book):
    booking = book(starts_in=timedelta(days=3))
    purge(now=timezone.now() + timedelta(days=10))
    assert Appointment.objects.filter(pk=booking.appointment.pk).exists()


def test_a_call_that_never_ended_is_deleted_after_its_planned_end(book):
    appointment = book().appointment
    appointment.call_started_at = appointment.starts_at
    appointment.save()
    purge(now=appointment.ends_at + timedelta(days=14, minutes=1))
    assert not Appointment.objects.exists()
    fact = ConsultationFact.objects.get()
    assert fact.outcome == "held" and fact.held_minutes is None


def test_a_cancelled_appointment_is_deleted_the_same_way(book, counselor):
    booking = book(starts_in=timedelta(days=30), customer_number="K123")
    cancelled = appointments.cancel_appointment(booking.appointment, by=counselor)
    assert cancelled.cancelled_at is not None
    purge(now=cancelled.cancelled_at + timedelta(days=13))
    assert Appointment.objects.filter(pk=cancelled.pk).exists()
    purge(now=cancelled.cancelled_at + timedelta(days=14, minutes=1))
    assert not Appointment.objects.filter(pk=cancelled.pk).exists()
    assert not Member.objects.filter(customer_number="K123").exists()
    fact = ConsultationFact.objects.get()
    assert fact.outcome == "cancelled" and fact.held_minutes is None


def test_an_appointment_whose_citizen_declined_is_deleted_the_same_way(book):
    booking = book()
    text = consent.current_text(booking.appointment.agency, "de")
    consent.decide(booking.citizen, text, accepted=False)
    assert ConsentDecision.objects.count() == 1
    purge(now=booking.appointment.ends_at + timedelta(days=14, minutes=1))
    assert not Appointment.objects.exists()
    assert not Member.objects.exists()
    assert not ConsentDecision.objects.exists()
    fact = ConsultationFact.objects.get()
    assert fact.outcome == "no_show"
    assert (fact.consents_accepted, fact.consents_declined) == (0, 1)


def test_the_fact_is_written_at_the_end_and_holds_no_personal_datum(counselor, interpreter_booking):
    booking = interpreter_booking
    citizen = agree(booking.citizen)
    agree(booking.extras[0][0])  # Olga agrees, but does not come
    host = booking.appointment.members.get(user=counselor)
    calls.connect(host, session="h" * 16, channel="channel-host")
    calls.connect(citizen, session="c" * 16, channel="channel-c", user_agent=USER_AGENT)
    calls.update_status(citizen, check={"result": "green", "details": {}})
    calls.admit(citizen, by=host)
    calls.end_call(booking.appointment, by=host)

    fact = ConsultationFact.objects.get()
    assert fact.outcome == "held"
    assert fact.planned_minutes == 30 and fact.held_minutes == 0
    assert fact.seconds_to_admit is not None
    assert fact.invited == {"citizen": 1, "interpreter": 1}
    assert fact.took_part == {"host": 1, "citizen": 1}
    assert (fact.consents_accepted, fact.consents_declined) == (2, 0)
    assert (fact.checks_green, fact.checks_yellow, fact.checks_red, fact.checks_missing) == (
        1,
        0,
        0,
        1,
    )
    assert fact.browsers == {"Chrome Mobile": 1} and fact.systems == {"Android": 1}
    assert fact.day == timezone.localdate(booking.appointment.starts_at)
    # Nothing in it names the appointment, a person or a time of day.
    text = json.dumps(ConsultationFact.objects.values().get(), default=str)
    for datum in [
        str(booking.appointment.public_id),
        str(citizen.public_id),
        "Dana",
        "dana@example.org",
        "Olga",
        BROWSER,
        SYSTEM,
    ]:
        assert datum not in text
    assert not re.search(r"\d\d:\d\d", text)

    booking.appointment.refresh_from_db()
    assert booking.appointment.call_ended_at is not None
    purge(now=booking.appointment.call_ended_at + timedelta(days=15))
    assert not Appointment.objects.exists()
    assert ConsultationFact.objects.count() == 1


def test_a_rare_browser_counts_as_other():
    from videotermin.stats.services import BROWSER_FAMILIES, family

    assert family("Chrome Mobile 131", BROWSER_FAMILIES) == "Chrome Mobile"
    assert family("Quenstedt Browser 7", BROWSER_FAMILIES) == "Other"


def test_the_audit_trail_remains_and_names_only_pseudonyms(held):
    public_id = str(held.public_id)
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    purge(now=held.call_ended_at + timedelta(days=15))
    entries = AuditEntry.objects.all()
    assert before < set(entries.values_list("pk", flat=True))
    for entry in entries:
        assert PSEUDONYM.match(entry.actor_ref)
        assert entry.appointment_id is None
        for value in json.dumps(entry.data).split('"'):
            assert not value.startswith("member:") or PSEUDONYM.match(value)
    kept = entries.filter(appointment_ref=public_id)
    assert {"videotermin.appointment.created", "videotermin.appointment.call_ended"} <= set(
        kept.values_list("action", flat=True)
    )
    purged = entries.get(action="videotermin.privacy.purged")
    assert purged.data == {"appointments": 1, "members": 2, "retention_days": 14}
    assert purged.actor_ref == "" and purged.appointment_ref == ""


def test_purging_twice_deletes_nothing_more_and_records_nothing_more(held):
    now = held.call_ended_at + timedelta(days=15)
    assert purge(now=now).total_appointments == 1
    entries, facts = AuditEntry.objects.count(), ConsultationFact.objects.count()
    again = purge(now=now)
    assert again.total_appointments == 0 and again.facts_written == 0
    assert AuditEntry.objects.count() == entries
    assert ConsultationFact.objects.count() == facts == 1


def test_sign_in_records_are_kept_only_as_long_as_the_retention_allows(agency, counselor):
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    browser = Client(REMOTE_ADDR=ADDRESS)
    browser.post(reverse("staff:login"), {"username": "somebody", "password": "wrong"})
    browser.post(reverse("staff:login"), {"username": "alice", "password": PASSWORD})
    assert AccessAttempt.objects.filter(username="somebody").exists()
    assert AccessLog.objects.filter(username="alice").exists()
    agency.retention_days = 3
    agency.save()
    now = timezone.now()
    # Alice's records go after her agency's three days; the unknown name's after fourteen.
    purge(now=now + timedelta(days=4))
    assert not AccessLog.objects.filter(username="alice").exists()
    assert AccessAttempt.objects.filter(username="somebody").exists()
    purge(now=now + timedelta(days=14, minutes=1))
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        assert not model.objects.exists()


def test_expired_sessions_are_cleared(client, booking):
    client.get(reverse("journey:link", args=[booking.token]))
    assert Session.objects.count() == 1
    purge(now=timezone.now() + timedelta(hours=1))
    assert Session.objects.count() == 1
    purge(now=timezone.now() + timedelta(days=1))
    assert Session.objects.count() == 0


def test_old_demo_emails_are_deleted(agency, mail_folder):
    old, new = mail_folder / "old.log", mail_folder / "new.log"
    old.write_text(NAME)
    new.write_text(NAME)
    fifteen_days_ago = (timezone.now() - timedelta(days=15)).timestamp()
    os.utime(old, (fifteen_days_ago, fifteen_days_ago))
    assert purge().emails == 1
    assert not old.exists() and new.exists()


def test_the_worker_runs_the_purge_every_hour(held):
    from videotermin.lib.jobs import periodic_tasks
    from videotermin.privacy.tasks import purge_expired

    periodic = periodic_tasks()[purge_expired.module_path]
    assert periodic.interval == timedelta(hours=1)
    held.call_ended_at = timezone.now() - timedelta(days=15)
    held.save()
    purge_expired.func()
    assert not Appointment.objects.filter(pk=held.pk).exists()
