"""Deliver the outbox to the agencies' endpoints: signed, in order, at least once.

- A run (tasks.deliver, asked for after every commit that wrote an event, and the periodic
  tasks.sweep) claims due deliveries with a lease, sends them in parallel threads with a short
  timeout, and records the answer. Only this module's main thread touches the database.
- Order: a delivery waits while an earlier event of the same appointment to the same endpoint
  is still pending (not yet delivered and not given up).
- Retries: a failed attempt is tried again after WEBHOOK_RETRY_SECONDS, doubling each time up
  to WEBHOOK_RETRY_MAX_SECONDS, plus up to a quarter more at random (jitter: endpoints that
  were down are not hit by every retry at once); after WEBHOOK_MAX_ATTEMPTS it is failed.
- A worker killed while sending leaves the delivery leased; once the lease is over another run
  takes it again, with the same `webhook-id`. The attempt was counted when it was claimed.
"""

import logging
import random
import secrets
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from videotermin.webhooks import addresses, signing
from videotermin.webhooks.models import Delivery, Event

logger = logging.getLogger(__name__)

Status, Error = Delivery.Status, Delivery.Error
# Requests sent at once by one run (one thread each).
CONCURRENCY = 8
# A run takes no new deliveries after this long and asks for the next run instead: a job must
# end well within the job runner's lease, and other jobs get their turn.
RUN_SECONDS = 30
USER_AGENT = "videotermin-webhooks/1"


@dataclass(frozen=True)
class Result:
    status: int | None = None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return not self.error and self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Message:
    url: str
    message_id: str
    body: bytes
    secrets: tuple[str, ...]


def retry_delay(attempts: int) -> timedelta:
    """How long a delivery waits after its `attempts`-th failed attempt (before jitter)."""
    seconds = settings.WEBHOOK_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def _with_jitter(delay: timedelta) -> timedelta:
    return delay * (1 + random.random() / 4)  # noqa: S311 (spreading, not secrecy)


def heads(now: datetime) -> QuerySet[Delivery]:
    """Pending deliveries nobody holds whose earlier events (same endpoint and appointment)
    are all delivered or given up."""
    earlier = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        appointment=OuterRef("appointment"),
        status=Status.PENDING,
        position__lt=OuterRef("position"),
    )
    return (
        Delivery.objects.filter(status=Status.PENDING, endpoint__active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .exclude(Exists(earlier))
    )


def release_lost(now: datetime) -> int:
    """Free the deliveries whose worker died while sending (the lease is over): the log says so
    until the next attempt. Returns how many."""
    lost = Delivery.objects.filter(status=Status.PENDING, lease_until__lt=now).update(
        lease_until=None, lease_owner="", error=Error.WORKER, response_status=None
    )
    if lost:
        logger.warning("%d webhook deliveries lost their worker; they are sent again", lost)
    return lost


def claim(limit: int, now: datetime) -> list[Delivery]:
    """Lease up to `limit` due deliveries to this run; every attempt counts from here."""
    due = heads(now).filter(next_attempt_at__lte=now).order_by("next_attempt_at", "pk")
    ids = list(due.values_list("pk", flat=True)[:limit])
    if not ids:
        return []
    owner = secrets.token_hex(16)
    # Only one run gets a row: the condition is checked again by the update itself.
    Delivery.objects.filter(pk__in=ids, status=Status.PENDING).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).update(
        lease_until=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
        lease_owner=owner,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
    )
    return list(
        Delivery.objects.filter(lease_owner=owner, status=Status.PENDING)
        .select_related("endpoint", "event")
        .order_by("pk")
    )


def message_of(delivery: Delivery, now: datetime) -> Message:
    """What to send; raises signing.SecretUnreadable."""
    endpoint = delivery.endpoint
    in_use = [signing.unseal(endpoint.secret_sealed)]
    if endpoint.previous_secret_sealed and (endpoint.previous_secret_until or now) > now:
        in_use.append(signing.unseal(endpoint.previous_secret_sealed))
    event = delivery.event
    return Message(endpoint.url, event.message_id, event.body.encode(), tuple(in_use))


def send(client: httpx.Client, message: Message) -> Result:
    """POST the message to the address checked just now; no database access here."""
    try:
        target = addresses.resolve(message.url)
    except addresses.AddressRefused as refused:
        return Result(error=refused.code)
    headers = signing.headers(
        list(message.secrets), message.message_id, timezone.now(), message.body
    )
    headers.update(
        {"content-type": "application/json", "user-agent": USER_AGENT, "host": target.host_header}
    )
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        # The body of the answer is never read: only its status counts.
        with client.stream(
            "POST", target.url, content=message.body, headers=headers, extensions=extensions
        ) as response:
            status = response.status_code
    except httpx.TimeoutException:
        return Result(error=Error.TIMEOUT)
    except httpx.ConnectError as error:
        tls = isinstance(error.__context__, ssl.SSLError) or "SSL" in str(error)
        return Result(error=Error.TLS if tls else Error.CONNECTION)
    except httpx.HTTPError:
        return Result(error=Error.CONNECTION)
    return Result(status=status, error="" if 200 <= status < 300 else Error.STATUS)


def finish(delivery: Delivery, result: Result, now: datetime) -> str:
    """Record the attempt: delivered, or due again later, or given up. Returns the status."""
    values: dict = {
        "lease_until": None,
        "lease_owner": "",
        "response_status": result.status,
        "error": result.error,
    }
    if result.delivered:
        values.update(status=Status.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        values.update(status=Status.FAILED, next_attempt_at=None)
    else:
        values["next_attempt_at"] = now + _with_jitter(retry_delay(delivery.attempts))
    # A run whose lease ran out meanwhile records nothing: another run holds it now.
    Delivery.objects.filter(pk=delivery.pk, lease_owner=delivery.lease_owner).update(**values)
    status = values.get("status", Status.PENDING)
    if not result.delivered:
        logger.log(
            logging.WARNING if status == Status.FAILED else logging.INFO,
            "webhook delivery %s (endpoint %s, attempt %d): %s %s, %s",
            delivery.public_id,
            delivery.endpoint.public_id,
            delivery.attempts,
            result.error,
            result.status or "",
            "given up" if status == Status.FAILED else "will be retried",
        )
    return status


def run(seconds: float = RUN_SECONDS) -> int:
    """Send every delivery that is due, batch by batch, for at most `seconds`; then ask for the
    next run when the next retry is due. Returns how many attempts were made."""
    deadline = time.monotonic() + seconds
    attempts = 0
    timeout = httpx.Timeout(
        settings.WEBHOOK_TIMEOUT_SECONDS, connect=min(5, settings.WEBHOOK_TIMEOUT_SECONDS)
    )
    # trust_env off: no proxy from the environment, the request goes to the checked address.
    release_lost(timezone.now())
    with (
        httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="webhook") as pool,
    ):
        while time.monotonic() < deadline:
            now = timezone.now()
            batch = claim(CONCURRENCY * 2, now)
            if not batch:
                break
            pending = []
            for delivery in batch:
                try:
                    message = message_of(delivery, now)
                except signing.SecretUnreadable:
                    finish(delivery, Result(error=Error.SECRET), timezone.now())
                    continue
                pending.append((delivery, pool.submit(send, client, message)))
            for delivery, future in pending:
                finish(delivery, future.result(), timezone.now())
            attempts += len(batch)
    schedule_next()
    return attempts


def schedule_next() -> None:
    """Ask for a run when the earliest delivery that may go next is due."""
    now = timezone.now()
    upcoming = heads(now).aggregate(at=Min("next_attempt_at"))["at"]
    if upcoming is not None:
        request_run(max(upcoming, now))


def request_run(at: datetime | None = None) -> None:
    """Queue a delivery run for `at` (default: now) unless one is queued for then already."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    from videotermin.webhooks.tasks import deliver

    now = timezone.now()
    at = at if at is not None and at > now else None
    queued = DBTaskResult.objects.filter(
        task_path=deliver.module_path, status=TaskResultStatus.READY
    ).filter(Q(run_after__lte=at or now) | Q(run_after=get_date_max()))
    if queued.exists():
        return
    (deliver.using(run_after=at) if at else deliver).enqueue()


def replay(delivery: Delivery) -> None:
    """Send a delivered or failed delivery again, as new, with the same `webhook-id`."""
    Delivery.objects.filter(pk=delivery.pk).exclude(status=Status.PENDING).update(
        status=Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        lease_until=None,
        lease_owner="",
        delivered_at=None,
    )


def prune(now: datetime | None = None) -> int:
    """Delete events and deliveries older than WEBHOOK_KEEP_DAYS; returns how many events."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_KEEP_DAYS)
    Delivery.objects.filter(created_at__lt=cutoff).delete()
    deleted, _by_model = Event.objects.filter(created_at__lt=cutoff).delete()
    return deleted
