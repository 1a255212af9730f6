"""Webhooks through the real job runner: `manage.py db_worker` processes against the test
database. A committed change is delivered soon after its commit, and a message whose worker is
killed with SIGKILL while the receiver holds the request arrives once another worker runs, with
the same webhook-id."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook
from tests.personas import interpreter_invitee
from tests.webhookreceiver import Receiver

from videotermin.appointments import services as appointments
from videotermin.lib import jobs
from videotermin.webhooks import services
from videotermin.webhooks.models import Delivery
from videotermin.webhooks.tasks import deliver

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database's address, for a worker in another process."""
    from django.db import connection

    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(database['NAME']).resolve()}"
    return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(**database)


def start_worker() -> subprocess.Popen:
    """A worker with short leases and a sweep every second, as an operator could set them; its
    output goes to a file that a failing test shows."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "VIDEOTERMIN_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "VIDEOTERMIN_WEBHOOK_TIMEOUT_SECONDS": "2",
        "VIDEOTERMIN_WEBHOOK_LEASE_SECONDS": "3",
        "VIDEOTERMIN_WEBHOOK_SWEEP_SECONDS": "1",
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 (read when the test fails)
    worker = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker.log = log  # type: ignore[attr-defined]
    return worker


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@contextmanager
def running(*workers: subprocess.Popen) -> Iterator[None]:
    """Stop the workers at the end; when the test fails meanwhile, show what they wrote."""
    try:
        yield
    except AssertionError as failure:
        output = []
        for worker in workers:
            stop(worker)
            worker.log.seek(0)  # type: ignore[attr-defined]
            output.append(worker.log.read().decode(errors="replace")[-4000:])  # type: ignore[attr-defined]
        raise AssertionError(f"{failure}\nworkers wrote:\n" + "\n---\n".join(output)) from None
    finally:
        for worker in workers:
            stop(worker)


def wait_until(done, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def loopback_receivers(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


def test_a_committed_change_is_delivered_by_the_worker_soon_after_its_commit(
    agency, counselor, book
):
    with Receiver() as receiver:
        services.add_endpoint(agency, by=None, url=receiver.url, event_types=["member.invited"])
        book(extras=[interpreter_invitee()])
        # Asked for once after the commit, not once per event.
        queued = DBTaskResult.objects.filter(
            task_path=deliver.module_path, status=TaskResultStatus.READY
        )
        assert queued.count() == 1

        worker = start_worker()
        with running(worker):
            first, second = receiver.wait_for(2, timeout=60)

    assert [json.loads(r.body)["data"]["sequence"] for r in (first, second)] == [1, 2]


def test_a_message_in_flight_when_its_worker_is_killed_arrives_with_the_same_id(
    agency, counselor, book
):
    with Receiver(hold=True) as receiver:
        _endpoint, secret = services.add_endpoint(
            agency, by=None, url=receiver.url, event_types=["consultation.cancelled"]
        )
        appointments.cancel_appointment(book().appointment, by=counselor)

        first_worker = start_worker()
        with running(first_worker):
            [held] = receiver.wait_for(1, timeout=60)
            os.kill(first_worker.pid, signal.SIGKILL)
            first_worker.wait(timeout=10)
        in_flight = Delivery.objects.get()
        assert (in_flight.status, in_flight.attempts) == ("pending", 1)
        assert in_flight.lease_until is not None
        receiver.release()

        # The operator starts the worker again (its unit runs `schedule` first).
        jobs.schedule_periodic()
        second_worker = start_worker()
        with running(second_worker):
            again = receiver.wait_for(2, timeout=60)[1]
            wait_until(lambda: Delivery.objects.get().status == Delivery.Status.DELIVERED)

    assert again.message_id == held.message_id
    assert Webhook(secret).verify(again.body, again.headers)["type"] == "consultation.cancelled"
    delivered = Delivery.objects.get()
    assert (delivered.attempts, delivered.response_status) == (2, 200)


def test_two_workers_share_the_deliveries_sending_each_once_and_in_order(agency, counselor, book):
    with Receiver() as receiver:
        services.add_endpoint(agency, by=None, url=receiver.url, event_types=["member.invited"])
        booked = [book(extras=[interpreter_invitee()]).appointment for _ in range(15)]

        with running(start_worker(), start_worker()):
            receiver.wait_for(30, timeout=90)
            time.sleep(1)  # anything sent twice would arrive by now
        received = list(receiver.received)

    assert len(received) == len({r.message_id for r in received}) == 30
    for appointment in booked:
        sequences = [
            json.loads(r.body)["data"]["sequence"]
            for r in received
            if json.loads(r.body)["data"]["appointment"]["id"] == str(appointment.public_id)
        ]
        assert sequences == [1, 2]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
