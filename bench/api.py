"""Appointments booked through the integration API: how many a second, e-mails included.

- api_appointments_created_per_second: APPOINTMENTS bookings, one after another over one
  keep-alive connection, each `POST /api/v1/appointments` with a citizen and an interpreter,
  its own Idempotency-Key and the invitations on (two e-mails, written by Django's file backend
  into the bench's folder before the answer goes out). Counted from the first request to the
  last answer.
- api_appointments_created_per_second_4_clients: the same with CLIENTS systems booking at once,
  each on its own connection (one uvicorn process, one SQLite database: bookings are written
  one at a time, so this shows what concurrency costs or gains, not a cluster).
- api_create_median, api_create_p95: one booking's time, from the sequential run.

The server is a uvicorn process of its own on the bench's database and mail folder (set by
BenchServer), with the per-key rate limit lifted. Every answer must be 201, every appointment
must be in the database, and every invitation in the mail folder.

`run_api(results, details)` runs in the bench's process after BenchServer has set Django up on
the bench's own database; `python -m bench.api` runs it alone.
"""

import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx

from bench.server import free_port, start_uvicorn

ROOT = Path(__file__).resolve().parent.parent
APPOINTMENTS = 200
CLIENTS = 4

UNITS = {
    "api_appointments_created_per_second": "appointments/s",
    "api_appointments_created_per_second_4_clients": "appointments/s",
    "api_create_median": "ms",
    "api_create_p95": "ms",
}


def in_thread(function, *args, **kwargs):
    """Django code runs beside a running event loop (Playwright's) only in a thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def _setup() -> dict[str, str]:
    from django.contrib.auth import get_user_model

    from videotermin.agencies.models import Agency, Location, StaffMember
    from videotermin.api import services

    agency = Agency.objects.create(name="Agentur bench-api", slug="bench-api")
    location = Location.objects.create(agency=agency, name="Bench")
    counselor = get_user_model().objects.create_user("bench-api", password="-")
    staff = StaffMember.objects.create(user=counselor, agency=agency, location=location)
    issued = services.create_key(agency, by=None, name="Bench", scope="write")
    return {
        "key": issued.value,
        "location": str(location.public_id),
        "counselor": str(staff.public_id),
    }


def _count_appointments() -> int:
    from videotermin.appointments.models import Appointment

    return Appointment.objects.filter(agency__slug="bench-api").count()


def _server() -> tuple[str, subprocess.Popen]:
    """uvicorn on the bench's database (the environment BenchServer set), without a key limit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SITE_URL": url,
        "PORT": str(port),
        "VIDEOTERMIN_API_RATE_LIMIT": "1000000/minute",
    }
    return url, start_uvicorn(env, port, probe="/api/v1/openapi.json")


def _booking(ids: dict[str, str], number: int) -> dict:
    from django.utils import timezone

    starts = timezone.now() + timedelta(days=1, minutes=number)
    return {
        "location": ids["location"],
        "counselor": ids["counselor"],
        "starts_at": starts.isoformat(),
        "citizen": {"name": f"Bench Bürger {number}", "email": "bench@example.org"},
        "participants": [
            {
                "role": "interpreter",
                "name": f"Bench Dolmetscher {number}",
                "email": "interpreter@example.org",
                "language": "en",
            }
        ],
    }


def _book(client: httpx.Client, ids: dict[str, str], number: int) -> float:
    """One booking through the API; its time in seconds."""
    started = time.perf_counter()
    response = client.post(
        "/api/v1/appointments",
        json=_booking(ids, number),
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"booking {number} answered {response.status_code}: {response.text}")
    return elapsed


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _mails() -> int:
    """The e-mails in the bench's mail folder (the file backend writes one or more a file)."""
    folder = Path(os.environ["EMAIL_FILE_PATH"])
    if not folder.exists():
        return 0
    return sum(
        path.read_text(errors="replace").count("\nMessage-ID: ") for path in folder.iterdir()
    )


def run_api(results: dict, details: dict) -> None:
    ids = in_thread(_setup)
    url, server = _server()
    mails_before = _mails()
    try:
        with _client(url, ids["key"]) as client:
            _book(client, ids, -1)  # the first request warms the server's imports up
            started = time.perf_counter()
            times = [_book(client, ids, number) for number in range(APPOINTMENTS)]
            sequential = time.perf_counter() - started

        clients = [_client(url, ids["key"]) for _ in range(CLIENTS)]
        try:
            numbers = range(APPOINTMENTS, 2 * APPOINTMENTS)
            started = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(
                    pool.map(lambda number: _book(clients[number % CLIENTS], ids, number), numbers)
                )
            concurrent = time.perf_counter() - started
        finally:
            for client in clients:
                client.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    booked = in_thread(_count_appointments)
    mails = _mails() - mails_before
    expected = 2 * APPOINTMENTS + 1
    if booked != expected or mails != 2 * expected:
        raise RuntimeError(f"{booked} appointments and {mails} e-mails, expected {expected}")
    ordered = sorted(times)
    results["api_appointments_created_per_second"] = round(APPOINTMENTS / sequential, 1)
    results["api_appointments_created_per_second_4_clients"] = round(APPOINTMENTS / concurrent, 1)
    results["api_create_median"] = round(statistics.median(times) * 1000, 1)
    results["api_create_p95"] = round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1)
    details["api"] = {
        "appointments": APPOINTMENTS,
        "clients": CLIENTS,
        "seconds_sequential": round(sequential, 3),
        "seconds_concurrent": round(concurrent, 3),
        "appointments_booked": booked,
        "emails_written": mails,
    }


if __name__ == "__main__":
    from bench.server import run_alone

    sys.exit(run_alone(run_api, "api", UNITS))
