"""Retries are safe: the same Idempotency-Key with the same request gets the same answer and
changes nothing more (no second appointment, no second e-mail), even when the retries come at
the same moment; the same key with another request is refused."""

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from tests.apiclient import ApiCaller, booking_body, token_of

from videotermin.api import idempotency
from videotermin.api import services as api_services
from videotermin.api.models import IdempotentRequest
from videotermin.api.tasks import purge_idempotent_requests
from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment, Link, Member

pytestmark = pytest.mark.django_db

CHANGING = [
    ("post", "/appointments"),
    ("patch", "/appointments/{appointment_id}"),
    ("post", "/appointments/{appointment_id}/cancel"),
    ("post", "/appointments/{appointment_id}/members"),
    ("patch", "/appointments/{appointment_id}/members/{member_id}"),
    ("delete", "/appointments/{appointment_id}/members/{member_id}"),
    ("post", "/appointments/{appointment_id}/members/{member_id}/link"),
]


@pytest.fixture
def body(location, counselor):
    return booking_body(location, counselor, timezone.now() + timedelta(days=1))


def test_a_retried_booking_books_once_mails_once_and_gets_the_first_answer(api, body):
    key = str(uuid.uuid4())

    first = api.post("/appointments", body, idempotency_key=key)
    retry = api.post("/appointments", body, idempotency_key=key)

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry["ETag"] == first["ETag"]
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Appointment.objects.count() == 1
    assert len(mail.outbox) == 2


def test_the_same_request_written_differently_is_the_same_request(api, body):
    key = str(uuid.uuid4())
    first = api.post("/appointments", body, idempotency_key=key)

    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    retry = api.post("/appointments", raw=reordered, idempotency_key=f'"{key}"')

    assert retry.status_code == 201
    assert retry.content == first.content
    assert Appointment.objects.count() == 1


def test_the_same_key_with_another_request_is_refused_with_422(api, body):
    key = str(uuid.uuid4())
    api.post("/appointments", body, idempotency_key=key)

    other = api.post("/appointments", {**body, "duration_minutes": 45}, idempotency_key=key)
    elsewhere = api.post(
        f"/appointments/{Appointment.objects.get().public_id}/cancel", idempotency_key=key
    )

    for response in (other, elsewhere):
        assert response.status_code == 422
        assert json.loads(response.content)["type"] == "/api/v1/problems/idempotency-key-reused"
    assert Appointment.objects.count() == 1
    assert Appointment.objects.get().cancelled_at is None


def test_a_refused_request_is_not_remembered_and_may_be_sent_again(api, body, location):
    key = str(uuid.uuid4())
    location.active = False
    location.save()
    refused = api.post("/appointments", body, idempotency_key=key)
    location.active = True
    location.save()

    accepted = api.post("/appointments", body, idempotency_key=key)

    assert refused.status_code == 422
    assert accepted.status_code == 201
    assert Appointment.objects.count() == 1


def test_keys_of_different_api_keys_do_not_meet(api, other_api, body, other_agency):
    key = str(uuid.uuid4())
    ours = api.post("/appointments", body, idempotency_key=key)

    theirs = other_api.post("/appointments", body, idempotency_key=key)

    assert ours.status_code == 201
    assert theirs.status_code == 422  # their own request: our location is not theirs
    assert json.loads(theirs.content)["type"] == "/api/v1/problems/validation"


def test_a_stored_answer_holds_no_readable_link_name_or_address(api, body):
    response = api.post("/appointments", body, idempotency_key="booking-for-dana@example.org")
    tokens = [token_of(link["link"]) for link in response.json()["links"]]

    stored = IdempotentRequest.objects.get()
    raw = bytes(stored.sealed_body)
    columns = json.dumps(list(IdempotentRequest.objects.values()), default=str)

    for secret in [*tokens, "Dana", "dana@example.org", "booking-for-dana"]:
        assert secret.encode() not in raw
        assert secret not in columns
    # The links in the answer work, and what the database keeps of them is their hash only.
    for token in tokens:
        assert appointments.resolve_link(token)
        assert not Link.objects.filter(token_hash=token).exists()


def test_a_retry_with_the_rotated_secret_cannot_open_the_stored_answer(client, api, api_key, body):
    key = str(uuid.uuid4())
    api.post("/appointments", body, idempotency_key=key)
    rotated = api_services.rotate_key(api_key.key, by=None)

    retry = ApiCaller(client, rotated.value).post("/appointments", body, idempotency_key=key)

    assert retry.status_code == 409
    assert json.loads(retry.content)["type"] == "/api/v1/problems/idempotency-answer-sealed"
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(("method", "path"), CHANGING, ids=lambda v: str(v))
def test_every_changing_operation_needs_an_idempotency_key(api, interpreter_booking, method, path):
    olga, _token = interpreter_booking.extras[0]
    ids = {"appointment_id": interpreter_booking.appointment.public_id, "member_id": olga.public_id}

    response = api.call(method, path.format(**ids), {}, idempotency_key=None, if_match="*")

    assert response.status_code == 400
    assert json.loads(response.content)["type"] == "/api/v1/problems/idempotency-key-missing"


def test_a_retried_change_is_answered_as_the_first_time_though_the_version_moved_on(
    api, interpreter_booking
):
    path = f"/appointments/{interpreter_booking.appointment.public_id}"
    etag = api.get(path)["ETag"]
    key = str(uuid.uuid4())
    mail.outbox.clear()

    first = api.patch(path, {"duration_minutes": 45}, idempotency_key=key, if_match=etag)
    retry = api.patch(path, {"duration_minutes": 45}, idempotency_key=key, if_match=etag)

    assert first.status_code == retry.status_code == 200
    assert retry.content == first.content
    assert len(mail.outbox) == 2


def test_expired_answers_are_purged_by_the_worker(api, body, settings):
    api.post("/appointments", body)
    api.post("/appointments", {**body, "duration_minutes": 45})
    IdempotentRequest.objects.filter(pk=IdempotentRequest.objects.first().pk).update(
        created_at=timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS, minutes=1)
    )

    purge_idempotent_requests.call()

    assert IdempotentRequest.objects.count() == 1


def test_an_expired_answer_not_yet_purged_counts_as_new(api, body, settings):
    key = str(uuid.uuid4())
    api.post("/appointments", body, idempotency_key=key)
    IdempotentRequest.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS, minutes=1)
    )

    again = api.post("/appointments", body, idempotency_key=key)

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert Appointment.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_the_same_key_have_exactly_one_effect(api_key, body, monkeypatch):
    """Eight retries at the same moment, each in its own thread and database connection: the
    first holds the key's row while it books (slowly); the others wait for it and get its
    answer. On PostgreSQL they wait on the unique index, on SQLite on the write lock."""
    book = appointments.create_appointment

    def slow_booking(**kwargs):
        booking = book(**kwargs)
        time.sleep(0.3)  # the others arrive while this transaction is still open
        return booking

    monkeypatch.setattr(appointments, "create_appointment", slow_booking)
    key = str(uuid.uuid4())
    start = threading.Barrier(8)
    answers = []

    def retry() -> None:
        try:
            start.wait()
            caller = ApiCaller(Client(), api_key.value)
            answers.append(caller.post("/appointments", body, idempotency_key=key))
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 8
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.content for answer in answers}) == 1
    assert sum("Idempotent-Replayed" in answer for answer in answers) == 7
    assert Appointment.objects.count() == 1
    assert Member.objects.count() == 3
    assert len(mail.outbox) == 2
    assert IdempotentRequest.objects.count() == 1


def test_the_idempotency_key_is_compared_without_its_quotes():
    assert idempotency.normalised('"abc"') == "abc"
    assert idempotency.normalised("abc") == "abc"
