"""Webhooks: every change writes its event in its own transaction, the real services emit every
event type, a real receiver verifies the signatures with the Standard Webhooks library, failed
deliveries are retried with growing pauses, the events of one appointment arrive in order, no
agency hears of another's appointments, and no body names a person."""

import json
import socket
import time
from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from tests.personas import agree, interpreter_invitee
from tests.webhookreceiver import Receiver

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment
from videotermin.audit.models import AuditEntry
from videotermin.calls import services as calls
from videotermin.stats.models import ConsultationFact
from videotermin.stats.services import write_due_facts
from videotermin.survey import services as survey
from videotermin.webhooks import addresses, delivery, outbox, services, signing
from videotermin.webhooks.events import EVENT_TYPES
from videotermin.webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db

EVERYTHING = list(EVENT_TYPES)


@pytest.fixture(autouse=True)
def quick_webhooks(settings):
    """Receivers on loopback are allowed, and retries come after fractions of a second."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_SECONDS = 0.3
    settings.WEBHOOK_RETRY_MAX_SECONDS = 5
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    settings.WEBHOOK_LEASE_SECONDS = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 5


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def subscribe(agency, url: str, events=EVERYTHING) -> tuple[Endpoint, str]:
    """The agency's system at `url` asks for these events; returns the endpoint and secret."""
    return services.add_endpoint(agency, by=None, url=url, event_types=list(events))


def deliver_until(done, timeout: float = 20) -> None:
    """Run deliveries, as the worker would, until done() holds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the deliveries did not finish in time"
        delivery.run(seconds=5)
        time.sleep(0.05)


def all_delivered() -> bool:
    return not Delivery.objects.filter(status=Delivery.Status.PENDING).exists()


def bodies(appointment=None) -> list[dict]:
    events = Event.objects.order_by("pk")
    if appointment is not None:
        events = events.filter(appointment=appointment.public_id)
    return [json.loads(event.body) for event in events]


def payload(received) -> dict:
    return json.loads(received.body)


# The outbox and the transaction of the change


def test_the_event_is_written_with_the_change_and_rolled_back_with_it(agency, counselor, book):
    subscribe(agency, "http://127.0.0.1:9/hooks", ["consultation.cancelled"])
    appointment = book().appointment

    with pytest.raises(RuntimeError), transaction.atomic():
        appointments.cancel_appointment(appointment, by=counselor)
        # Inside the change's transaction, before it commits, the event is there already.
        assert Event.objects.filter(type="consultation.cancelled").count() == 1
        raise RuntimeError("the request failed after the cancellation")

    appointment.refresh_from_db()
    assert appointment.cancelled_at is None
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()

    appointments.cancel_appointment(appointment, by=counselor)
    [event] = Event.objects.all()
    assert event.type == "consultation.cancelled"
    assert event.appointment == appointment.public_id
    assert Delivery.objects.get().status == Delivery.Status.PENDING


def test_a_change_whose_event_cannot_be_written_is_not_made(agency, counselor, book, monkeypatch):
    subscribe(agency, "http://127.0.0.1:9/hooks", ["consultation.cancelled"])
    appointment = book().appointment

    def full_disk(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Delivery.objects, "bulk_create", full_disk)
    with pytest.raises(DatabaseError):
        appointments.cancel_appointment(appointment, by=counselor)

    appointment.refresh_from_db()
    assert appointment.cancelled_at is None
    assert not AuditEntry.objects.filter(action="videotermin.appointment.cancelled").exists()


def test_an_agency_without_an_endpoint_for_the_event_gets_no_outbox_row(agency, counselor, book):
    subscribe(agency, "http://127.0.0.1:9/hooks", ["consultation.no_show"])
    appointments.cancel_appointment(book().appointment, by=counselor)

    assert not Event.objects.exists()


def test_a_switched_off_endpoint_gets_no_new_events(agency, counselor, book):
    endpoint, _secret = subscribe(agency, "http://127.0.0.1:9/hooks")
    services.change_endpoint(endpoint, by=None, active=False)

    appointments.cancel_appointment(book().appointment, by=counselor)

    assert not Delivery.objects.exists()


# Every event type, from the real service calls


def run_a_whole_consultation(agency, counselor, book):
    """Dana and Olga are invited, Dana agrees, checks her devices, waits, is admitted and hangs
    up; Olga is removed; Alice ends the call; Dana answers the survey. Another appointment is
    cancelled, a third is missed."""
    booking = book(
        extras=[interpreter_invitee()], customer_number="K-4711-0815", name="Dana Yilmaz"
    )
    appointment = booking.appointment
    host = appointment.members.get(role="host")
    interpreter = booking.extras[0][0]
    citizen = agree(booking.citizen)
    calls.update_status(citizen, check={"result": "green", "details": {"rtt": 42}})
    citizen = calls.connect(
        citizen,
        session="s-dana",
        channel="channel-dana",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    )
    calls.admit(citizen, by=host)
    calls.leave(citizen)
    appointments.remove_member(interpreter, by=counselor)
    calls.end_call(appointment, by=host)
    survey.answer(
        citizen,
        day=timezone.localdate(),
        easy_to_use="partly",
        would_recommend="no",
        next_mode="in_person",
    )
    cancelled = book(name="Erik Sommer", email="erik@example.org").appointment
    appointments.cancel_appointment(cancelled, by=counselor)
    missed = book(
        starts_in=-timedelta(hours=1), name="Frieda Lange", email="frieda@example.org"
    ).appointment
    # The worker's statistics job: the cancelled and the missed appointment's facts and events.
    assert write_due_facts() == 2
    return appointment, cancelled, missed


def test_the_real_services_emit_every_event_type_in_the_order_it_happened(agency, counselor, book):
    subscribe(agency, "http://127.0.0.1:9/hooks")

    held, cancelled, missed = run_a_whole_consultation(agency, counselor, book)

    assert {body["type"] for body in bodies()} == set(EVENT_TYPES)
    happened = [
        (body["type"], body["data"].get("member", {}).get("role"), body["data"].get("reason"))
        for body in bodies(held)
    ]
    assert happened == [
        ("member.invited", "citizen", None),
        ("member.invited", "interpreter", None),
        ("member.consented", "citizen", None),
        ("member.checked", "citizen", None),
        ("member.waiting", "citizen", None),
        ("member.admitted", "citizen", None),
        ("consultation.started", None, None),
        ("member.left", "citizen", "hung_up"),
        ("member.left", "interpreter", "removed"),
        ("consultation.ended", None, "ended_by_host"),
        ("survey.answered", "citizen", None),
    ]
    assert [body["data"]["sequence"] for body in bodies(held)] == list(range(1, 12))
    states = {body["type"]: body["data"]["appointment"]["state"] for body in bodies(held)}
    assert states["member.admitted"] == "in_call"
    assert states["consultation.ended"] == "done"
    checked = next(b for b in bodies(held) if b["type"] == "member.checked")
    assert checked["data"]["result"] == "green"
    [cancellation] = [b for b in bodies(cancelled) if b["type"] == "consultation.cancelled"]
    assert cancellation["data"]["appointment"]["state"] == "cancelled"
    assert cancellation["data"]["cancelled_at"].endswith("Z")
    [no_show] = [b for b in bodies(missed) if b["type"] == "consultation.no_show"]
    assert no_show["data"]["appointment"]["state"] == "no_show"


def test_no_body_names_a_person_or_carries_an_answer(agency, counselor, book):
    subscribe(agency, "http://127.0.0.1:9/hooks")

    run_a_whole_consultation(agency, counselor, book)

    sent = " ".join(Event.objects.values_list("body", flat=True))
    for personal in (
        "Dana",
        "Yilmaz",
        "dana@example.org",
        "Olga",
        "olga@example.org",
        "Erik",
        "Frieda",
        "K-4711-0815",
        "Alice",
        "Berger",
        "alice",
        "Mozilla",
        "Firefox",
        "127.0.0.1",
        "partly",
        "in_person",
        "easy_to_use",
        "rtt",
    ):
        assert personal not in sent

    keys: set[str] = set()

    def collect(value) -> None:
        if isinstance(value, dict):
            keys.update(value)
            for item in value.values():
                collect(item)

    for body in bodies():
        collect(body)
    assert keys <= {
        "type",
        "timestamp",
        "data",
        "agency",
        "sequence",
        "appointment",
        "id",
        "state",
        "starts_at",
        "duration_minutes",
        "location",
        "member",
        "role",
        "presence",
        "version",
        "result",
        "waiting_since",
        "admitted_at",
        "started_at",
        "ended_at",
        "cancelled_at",
        "reason",
    }


def test_a_missed_appointment_is_a_no_show_once_its_end_has_passed_and_nobody_waits(
    agency, counselor, book
):
    subscribe(agency, "http://127.0.0.1:9/hooks", ["consultation.no_show"])
    missed = book(starts_in=-timedelta(minutes=40)).appointment
    book(starts_in=-timedelta(minutes=10))  # still running until its planned end
    late = book(starts_in=-timedelta(minutes=20))
    calls.connect(agree(late.citizen), session="s-late", channel="c-late")
    Appointment.objects.filter(pk=late.appointment.pk).update(
        starts_at=timezone.now() - timedelta(minutes=40)
    )

    assert write_due_facts() == 1
    assert write_due_facts() == 0

    [event] = Event.objects.all()
    assert (event.type, event.appointment) == ("consultation.no_show", missed.public_id)
    assert ConsultationFact.objects.get().outcome == "no_show"


# Delivery: signatures, retries, order, isolation


def test_the_receiver_verifies_every_message_with_the_standard_webhooks_library(
    agency, counselor, book, receiver
):
    endpoint, secret = subscribe(agency, receiver.url, ["consultation.cancelled"])
    appointment = book().appointment
    appointments.cancel_appointment(appointment, by=counselor)

    deliver_until(all_delivered)

    [got] = receiver.received
    verified = Webhook(secret).verify(got.body, got.headers)
    assert verified["type"] == "consultation.cancelled"
    assert verified["data"]["appointment"]["id"] == str(appointment.public_id)
    assert got.message_id == Event.objects.get().message_id
    assert got.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(got.body.replace(b"cancelled", b"started__"), got.headers)
    sent = Delivery.objects.get()
    assert (sent.status, sent.attempts, sent.response_status) == ("delivered", 1, 200)


def test_after_a_rotation_both_secrets_sign_for_a_day_then_only_the_new_one(agency, receiver):
    endpoint, old = subscribe(agency, receiver.url)
    new = services.rotate_secret(endpoint, by=None)
    assert new != old and new.startswith("whsec_")

    services.send_test(endpoint, by=None)
    deliver_until(all_delivered)
    first = receiver.received[0]
    assert Webhook(old).verify(first.body, first.headers)["type"] == "webhook.test"
    assert Webhook(new).verify(first.body, first.headers)["type"] == "webhook.test"

    Endpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_until=timezone.now() - timedelta(seconds=1)
    )
    services.send_test(endpoint, by=None)
    deliver_until(all_delivered)
    second = receiver.received[1]
    Webhook(new).verify(second.body, second.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(second.body, second.headers)


def test_the_secret_is_stored_encrypted_and_never_in_the_audit_log(agency):
    endpoint, secret = subscribe(agency, "http://127.0.0.1:9/hooks")

    stored = Endpoint.objects.filter(pk=endpoint.pk).values_list("secret_sealed", flat=True)[0]
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert signing.unseal(stored) == secret
    entry = AuditEntry.objects.get(action="videotermin.webhook.endpoint_added")
    assert secret not in json.dumps(entry.data)
    assert "127.0.0.1" not in json.dumps(entry.data)


def test_a_receiver_that_fails_at_first_gets_the_message_again_after_growing_pauses(
    agency, counselor, book, receiver
):
    answers = iter([500, 503, 200])
    receiver.answer = lambda _received: next(answers)
    subscribe(agency, receiver.url, ["consultation.cancelled"])
    appointments.cancel_appointment(book().appointment, by=counselor)

    deliver_until(all_delivered)

    first, second, third = receiver.received
    assert first.message_id == second.message_id == third.message_id
    # The schedule: 0.3 s, then 0.6 s (each plus up to a quarter of jitter, never less).
    assert 0.3 <= second.at - first.at < 0.3 * 1.25 + 1.5
    assert 0.6 <= third.at - second.at < 0.6 * 1.25 + 1.5
    sent = Delivery.objects.get()
    assert (sent.status, sent.attempts, sent.response_status) == ("delivered", 3, 200)
    assert [delivery.retry_delay(n).total_seconds() for n in (1, 2, 3, 10)] == [0.3, 0.6, 1.2, 5]


def test_a_delivery_that_keeps_failing_is_given_up_after_its_attempts(
    agency, counselor, book, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.answer = lambda _received: 500
    subscribe(agency, receiver.url, ["consultation.cancelled"])
    appointments.cancel_appointment(book().appointment, by=counselor)

    deliver_until(all_delivered)

    assert len(receiver.received) == 3
    given_up = Delivery.objects.get()
    assert (given_up.status, given_up.attempts, given_up.error) == ("failed", 3, "status")
    assert given_up.response_status == 500


def test_a_later_event_of_an_appointment_waits_until_the_earlier_one_is_delivered(
    agency, book, receiver
):
    subscribe(agency, receiver.url, ["member.invited"])
    first = book(extras=[interpreter_invitee()]).appointment  # two events: Dana, then Olga
    failed = set()

    def answer(received) -> int:
        data = payload(received)["data"]
        first_of_first = data["appointment"]["id"] == str(first.public_id)
        if first_of_first and data["sequence"] == 1 and not failed:
            failed.add(received.message_id)
            return 500
        return 200

    receiver.answer = answer
    other = book(name="Erik Sommer", email="erik@example.org").appointment

    deliver_until(all_delivered)

    of_first = [
        (payload(r)["data"]["sequence"], r.at)
        for r in receiver.received
        if payload(r)["data"]["appointment"]["id"] == str(first.public_id)
    ]
    assert [sequence for sequence, _at in of_first] == [1, 1, 2]
    # The other appointment did not wait for the first one's retry.
    [of_other] = [
        r.at
        for r in receiver.received
        if payload(r)["data"]["appointment"]["id"] == str(other.public_id)
    ]
    assert of_other < of_first[1][1]


def test_a_later_event_goes_out_once_the_earlier_one_is_given_up(agency, book, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    subscribe(agency, receiver.url, ["member.invited"])
    receiver.answer = lambda received: 500 if payload(received)["data"]["sequence"] == 1 else 200
    book(extras=[interpreter_invitee()])

    deliver_until(all_delivered)

    assert [payload(r)["data"]["sequence"] for r in receiver.received] == [1, 1, 2]
    assert sorted(Delivery.objects.values_list("position", "status")) == [
        (1, "failed"),
        (2, "delivered"),
    ]


def test_an_agencys_endpoint_never_receives_another_agencys_events(
    agency, other_agency, counselor, outsider, book
):
    with Receiver() as ours, Receiver() as theirs:
        subscribe(agency, ours.url)
        subscribe(other_agency, theirs.url)
        mine = book().appointment
        elsewhere = appointments.create_appointment(
            by=outsider,
            location=outsider.staff.location,
            starts_at=timezone.now() + timedelta(hours=1),
            citizen=appointments.Invitee(name="Gerd Roth", email="gerd@example.org"),
        ).appointment
        appointments.cancel_appointment(elsewhere, by=outsider)

        deliver_until(all_delivered)

        assert {payload(r)["data"]["appointment"]["id"] for r in ours.received} == {
            str(mine.public_id)
        }
        assert {payload(r)["data"]["agency"] for r in ours.received} == {str(agency.public_id)}
        assert {payload(r)["data"]["appointment"]["id"] for r in theirs.received} == {
            str(elsewhere.public_id)
        }
        assert {payload(r)["type"] for r in theirs.received} == {
            "member.invited",
            "consultation.cancelled",
        }


def test_a_delivery_whose_sender_died_goes_out_again_after_its_lease_with_the_same_id(
    agency, counselor, book, receiver
):
    subscribe(agency, receiver.url, ["consultation.cancelled"])
    appointments.cancel_appointment(book().appointment, by=counselor)
    # A worker claims it and dies before it sends or records anything.
    [held] = delivery.claim(10, timezone.now())

    delivery.run(seconds=5)
    assert receiver.received == []

    Delivery.objects.filter(pk=held.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    deliver_until(all_delivered)

    [got] = receiver.received
    assert got.message_id == held.event.message_id
    assert Delivery.objects.get().attempts == 2


def test_the_log_tells_of_a_delivery_whose_worker_died_until_it_is_sent_again(
    agency, counselor, book, settings
):
    endpoint, _secret = subscribe(agency, "http://127.0.0.1:9/hooks", ["consultation.cancelled"])
    appointments.cancel_appointment(book().appointment, by=counselor)
    delivery.claim(10, timezone.now())
    services.change_endpoint(endpoint, by=None, active=False)  # nothing goes out meanwhile
    Delivery.objects.update(lease_until=timezone.now() - timedelta(seconds=1))

    delivery.run(seconds=5)

    lost = Delivery.objects.get()
    assert (lost.status, lost.error, lost.lease_until, lost.attempts) == (
        "pending",
        "worker",
        None,
        1,
    )


def test_a_replay_sends_the_same_message_again_and_is_audited(
    agency, counselor, book, receiver, admin_user
):
    endpoint, secret = subscribe(agency, receiver.url, ["consultation.cancelled"])
    appointments.cancel_appointment(book().appointment, by=counselor)
    deliver_until(all_delivered)

    services.replay(Delivery.objects.get(), by=admin_user)
    assert Delivery.objects.get().status == "pending"
    deliver_until(all_delivered)

    first, again = receiver.received
    assert first.message_id == again.message_id
    Webhook(secret).verify(again.body, again.headers)
    entry = AuditEntry.objects.get(action="videotermin.webhook.delivery_replayed")
    assert entry.actor == admin_user
    assert entry.data["endpoint"] == str(endpoint.public_id)


def test_events_and_deliveries_are_deleted_after_the_retention(agency, counselor, book, settings):
    settings.WEBHOOK_KEEP_DAYS = 14
    subscribe(agency, "http://127.0.0.1:9/hooks")
    book()
    old = timezone.now() - timedelta(days=15)
    Event.objects.update(created_at=old)
    Delivery.objects.update(created_at=old)
    appointments.cancel_appointment(Appointment.objects.get(), by=counselor)

    delivery.prune()

    assert list(Event.objects.values_list("type", flat=True)) == ["consultation.cancelled"]
    assert Delivery.objects.count() == 1


# Where webhooks may go


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.agentur.example/in",
        "https://127.0.0.2/in",
        "https://10.1.2.3/in",
        "https://192.168.178.1/in",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/in",
        "https://[fe80::1]/in",
        "https://[::ffff:10.0.0.1]/in",
        "https://localhost/in",
        "https://user:secret@hooks.agentur.example/in",
        "ftp://hooks.agentur.example/in",
    ],
)
def test_an_endpoint_must_be_https_to_a_public_address(url, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []

    with pytest.raises(addresses.AddressRefused):
        addresses.check_url(url)


def test_hosts_the_operator_lists_may_use_http_and_private_addresses(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", ".intern.example", "10.20.0.0/16"]
    resolve = fake_resolver(monkeypatch, {"termine.intern.example": "10.99.0.5"})
    resolve["crm.example"] = "10.20.3.4"

    addresses.check_url("http://127.0.0.1:8080/hooks")
    addresses.check_url("http://localhost:8080/hooks")  # resolves to the listed address
    addresses.check_url("http://termine.intern.example/hooks")
    addresses.check_url("https://crm.example/hooks")  # its address is in a listed network
    with pytest.raises(addresses.AddressRefused):
        addresses.check_url("https://10.21.0.1/hooks")


def fake_resolver(monkeypatch, names: dict[str, str]) -> dict[str, str]:
    """Resolve the given names to the given addresses (changeable later), others as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def test_a_name_that_resolves_to_a_private_address_later_is_not_sent_to(
    agency, counselor, book, settings, monkeypatch
):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    names = fake_resolver(monkeypatch, {"hooks.agentur.example": "93.184.215.14"})
    subscribe(agency, "https://hooks.agentur.example/in", ["consultation.cancelled"])
    names["hooks.agentur.example"] = "10.0.0.7"  # DNS rebinding
    appointments.cancel_appointment(book().appointment, by=counselor)

    delivery.run(seconds=5)

    refused = Delivery.objects.get()
    assert (refused.status, refused.error, refused.response_status) == ("pending", "address", None)


def test_the_request_goes_to_the_checked_address_with_the_hosts_name(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    fake_resolver(monkeypatch, {"hooks.agentur.example": "93.184.215.14"})

    target = addresses.resolve("https://hooks.agentur.example:8443/in?key=1")

    assert target.url == "https://93.184.215.14:8443/in?key=1"
    assert target.host_header == "hooks.agentur.example:8443"


def test_the_outbox_refuses_an_event_type_nobody_defined(appointment):
    with pytest.raises(ValueError):
        outbox.emit(appointment, "appointment.exploded")
