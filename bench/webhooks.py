"""Webhook deliveries: how many a worker sends per second, and how soon a change reaches the
agency's system.

- webhook_deliveries_per_second: the booking service writes EVENTS `member.invited` events
  into the outbox (APPOINTMENTS appointments, each with a citizen and four more people, so the
  events of one appointment must go in order); then one `manage.py db_worker` sends them to a
  receiver on 127.0.0.1 (a real HTTP server, tests/webhookreceiver.py) that answers 200 at once.
  Counted from the first request's arrival to the last's, so the worker's start-up is not in
  it. Every body is verified with the Standard Webhooks library afterwards.
- webhook_commit_to_delivery_median (LATENCY_RUNS): with the worker idle (IDLE_SECONDS after
  its last job), an appointment is cancelled; from the call of the cancellation service (its
  commit, the e-mails and the event included) until the receiver has the event. An idle worker
  looks for new jobs every second (`db_worker`'s default interval), so this lies between a few
  milliseconds and a second; the median shows where.

`run_webhooks(results, details)` runs in the bench's process after BenchServer has set Django up
on the bench's own database; `python -m bench.webhooks` runs it alone.
"""

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from standardwebhooks import Webhook
from tests.webhookreceiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
APPOINTMENTS = 200
PEOPLE = 5  # the citizen and four more: five events per appointment, in order
EVENTS = APPOINTMENTS * PEOPLE
LATENCY_RUNS = 10
IDLE_SECONDS = 1.5
ROLES = ["interpreter", "guardian", "legal_counsel", "trusted_person"]

UNITS = {
    "webhook_deliveries_per_second": "deliveries/s",
    "webhook_commit_to_delivery_median": "ms",
}


def in_thread(function, *args, **kwargs):
    """Django code that publishes events runs beside Playwright's event loop only in a thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def _setup(receiver_url: str):
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from videotermin.agencies.models import Agency, Location, StaffMember
    from videotermin.webhooks import services

    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    agency = Agency.objects.create(name="Agentur bench-webhooks", slug="bench-webhooks")
    location = Location.objects.create(agency=agency, name="Bench")
    counselor = get_user_model().objects.create_user("bench-webhooks", password="-")
    StaffMember.objects.create(user=counselor, agency=agency, location=location)
    _endpoint, secret = services.add_endpoint(
        agency,
        by=None,
        url=receiver_url,
        event_types=["member.invited", "consultation.cancelled"],
    )
    return counselor, location, secret


def _book(counselor, location, people: int = PEOPLE):
    from django.utils import timezone

    from videotermin.appointments.services import Invitee, create_appointment

    return create_appointment(
        by=counselor,
        location=location,
        starts_at=timezone.now() + timedelta(days=1),
        citizen=Invitee("Bench Bürger", "bench@example.org"),
        extras=[
            Invitee(f"Bench {role}", f"{role}@example.org", role=role)
            for role in ROLES[: people - 1]
        ],
        send_invitation=False,
    ).appointment


def _cancel(appointment, counselor) -> None:
    from videotermin.appointments.services import cancel_appointment

    cancel_appointment(appointment, by=counselor)


def _worker() -> subprocess.Popen:
    from django.conf import settings

    env = {
        **os.environ,
        "SECRET_KEY": settings.SECRET_KEY,
        "VIDEOTERMIN_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "db_worker", "--no-reload", "-v", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _outcome() -> dict[str, int]:
    from django.db.models import Count

    from videotermin.webhooks.models import Delivery

    rows = Delivery.objects.values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def run_webhooks(results: dict, details: dict) -> None:
    with Receiver() as receiver:
        counselor, location, secret = in_thread(_setup, receiver.url)
        for _ in range(APPOINTMENTS):
            in_thread(_book, counselor, location)
        worker = _worker()
        try:
            received = receiver.wait_for(EVENTS, timeout=600)
            seconds = received[-1].at - received[0].at
            verified = sum(
                1 for r in received if Webhook(secret).verify(r.body, r.headers) is not None
            )
            latencies = []
            for _ in range(LATENCY_RUNS):
                before = len(receiver.received)
                appointment = in_thread(_book, counselor, location, people=1)
                receiver.wait_for(before + 1, timeout=60)  # its invitation's event
                time.sleep(IDLE_SECONDS)  # the worker has gone back to waiting
                started = time.monotonic()
                in_thread(_cancel, appointment, counselor)
                arrived = receiver.wait_for(before + 2, timeout=60)[before + 1].at
                latencies.append((arrived - started) * 1000)
        finally:
            _stop(worker)
    results["webhook_deliveries_per_second"] = round((EVENTS - 1) / seconds, 1)
    results["webhook_commit_to_delivery_median"] = round(statistics.median(latencies), 1)
    details["webhooks"] = {
        "events": EVENTS,
        "appointments": APPOINTMENTS,
        "seconds_first_to_last": round(seconds, 3),
        "verified": verified,
        "unique_message_ids": len({r.message_id for r in received}),
        "deliveries": in_thread(_outcome),
        "commit_to_delivery_ms": [round(value, 1) for value in latencies],
    }


if __name__ == "__main__":
    from bench.server import run_alone

    sys.exit(run_alone(run_webhooks, "webhooks", UNITS))
