"""The Prometheus metrics (docs/operations.md, "Monitoring").

Two kinds:

- What the processes count as it happens (sockets, admissions, join failures, signaling messages,
  test calls, the clients' call-quality samples). With PROMETHEUS_MULTIPROC_DIR set, every
  process writes its values to files in that folder and a scrape of any of them adds them up
  (prometheus-client's multiprocess mode); without it, a scrape shows its own process only.
- What the database knows at the moment of the scrape (members waiting and in a call, the job
  queue, webhook deliveries): a few counting queries, the same from every node.

Nothing here names a person, a consultation or an address: the labels are fixed words, and the
clients' quality samples only move histograms.
"""

import logging
import os
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

logger = logging.getLogger(__name__)

# The `_created` series say when a process first counted: noise, and absent in multiprocess mode.
disable_created_metrics()

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROCESS_DIR:
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)

# A room socket's page, or a staff member's day view.
SOCKET_KINDS = ("room", "day_view")

sockets_open = Gauge(
    "videotermin_sockets_open",
    "WebSockets open now, by kind (room, day_view).",
    ["kind"],
    registry=None,
    multiprocess_mode="livesum",
)
sockets_opened = Counter(
    "videotermin_sockets_opened",
    "WebSockets accepted, by kind.",
    ["kind"],
    registry=None,
)
admissions = Counter(
    "videotermin_admissions",
    "People let into a call by the host.",
    registry=None,
)
join_failures = Counter(
    "videotermin_join_failures",
    "Room connections refused or failed before the room was shown, by cause.",
    ["cause"],
    registry=None,
)
admit_to_media = Histogram(
    "videotermin_admit_to_media_seconds",
    "From the host's admission to the admitted person's page reporting media.",
    buckets=(0.5, 1, 1.5, 2, 3, 5, 8, 13, 20, 30, 60, 120, 300),
    registry=None,
)
test_calls = Counter(
    "videotermin_test_calls",
    "Test calls of the device check, by echo backend and outcome.",
    ["backend", "outcome"],
    registry=None,
)
test_calls_running = Gauge(
    "videotermin_test_calls_running",
    "Test calls running now, by echo backend.",
    ["backend"],
    registry=None,
    multiprocess_mode="livesum",
)
signaling_messages = Counter(
    "videotermin_signaling_messages",
    "Valid messages from room pages, by type.",
    ["type"],
    registry=None,
)
signaling_errors = Counter(
    "videotermin_signaling_errors",
    "Errors answered to room pages, by code; server_error: a socket closed by a failure.",
    ["code"],
    registry=None,
)
relays_dropped = Counter(
    "videotermin_relays_dropped",
    "Signals and samples not passed on because the receiving connection's queue was full "
    "(a page that does not keep up), by type.",
    ["type"],
    registry=None,
)
call_rtt = Histogram(
    "videotermin_call_rtt_seconds",
    "Media round trip in calls, from the participants' network samples (worst peer).",
    buckets=(0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.5, 3),
    registry=None,
)
call_loss = Histogram(
    "videotermin_call_loss_ratio",
    "Share of the participants' sent packets lost, from their network samples (worst peer).",
    buckets=(0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1),
    registry=None,
)
call_bitrate = Histogram(
    "videotermin_call_bitrate_bits_per_second",
    "The participants' media bit rate (all peers together), by direction (out, in).",
    ["direction"],
    buckets=(50e3, 100e3, 150e3, 250e3, 500e3, 1e6, 1.5e6, 2.5e6, 4e6, 8e6),
    registry=None,
)
quality_samples = Counter(
    "videotermin_call_quality_samples",
    "Network samples from participants in calls, by the mode their page sends in "
    "(one sample every 5 s: time spent in each mode).",
    ["mode"],
    registry=None,
)
quality_steps = Counter(
    "videotermin_call_quality_steps",
    "Changes of the mode a participant's page sends in, by direction (down, up).",
    ["direction"],
    registry=None,
)
waiting_rtt = Histogram(
    "videotermin_waiting_rtt_seconds",
    "Round trip between a waiting person's page and the server (WebSocket ping).",
    buckets=(0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.5, 3),
    registry=None,
)

PROCESS_METRICS = (
    sockets_open,
    sockets_opened,
    admissions,
    join_failures,
    admit_to_media,
    test_calls,
    test_calls_running,
    signaling_messages,
    signaling_errors,
    relays_dropped,
    call_rtt,
    call_loss,
    call_bitrate,
    quality_samples,
    quality_steps,
    waiting_rtt,
)

# What a scrape shows before anything happened: every label value that can occur, at zero.
for _kind in SOCKET_KINDS:
    sockets_open.labels(_kind)
    sockets_opened.labels(_kind)


# Recording --------------------------------------------------------------------------------------


def admitted() -> None:
    """Somebody was let into a call (called once the admission is committed)."""
    admissions.inc()


def join_failed(cause: str) -> None:
    """A room connection was refused: removed, ended, no_consent, not_open (calls/services.py),
    forbidden or server_error (sockets.py)."""
    join_failures.labels(cause).inc()


def dropped(kind: str) -> None:
    """A relayed message was not passed on: the receiving connection was behind."""
    relays_dropped.labels(kind).inc()


def refused(code: str) -> None:
    """A room page was answered with an error (docs/protocol.md, error codes)."""
    signaling_errors.labels(code).inc()


# A mode a page sends in, best first (quality.js, MODES).
MODES = ("high", "saver", "audio")
# The mode each room connection last reported, for counting its steps: an entry lives only as
# long as the connection, and names nobody.
_last_mode: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def received(connection: Any, message: Any) -> None:
    """A valid message from a room page: count it; fold a network sample into the histograms."""
    signaling_messages.labels(message.type).inc()
    network = getattr(message, "network", None)
    if network is not None:
        network_sample(connection, network)


def network_sample(connection: Any, network: Any) -> None:
    """A participant's sample (docs/protocol.md, "Network samples") into the aggregates.

    In the waiting room a page has no media to measure and reports only the round trip to the
    server, with every other number empty; in a call the round trip, loss and rates of its
    peer connections (a call's very first sample, taken before its loss and rates are known,
    counts as the waiting room's).
    """
    media = (network.lossPct, network.kbpsOut, network.kbpsIn)
    if all(value is None for value in media):
        if network.rttMs is not None:
            waiting_rtt.observe(network.rttMs / 1000)
        return
    if network.rttMs is not None:
        call_rtt.observe(network.rttMs / 1000)
    if network.lossPct is not None:
        call_loss.observe(network.lossPct / 100)
    if network.kbpsOut is not None:
        call_bitrate.labels("out").observe(network.kbpsOut * 1000)
    if network.kbpsIn is not None:
        call_bitrate.labels("in").observe(network.kbpsIn * 1000)
    quality_samples.labels(network.mode).inc()
    before = _last_mode.get(connection)
    _last_mode[connection] = network.mode
    if before is not None and before != network.mode:
        down = MODES.index(network.mode) > MODES.index(before)
        quality_steps.labels("down" if down else "up").inc()


# How long after the admission a first report of media still counts as its latency: a page
# reloaded much later reports media again, but that is no longer the admission's doing.
MEDIA_REPORT_WINDOW = timedelta(minutes=10)


def media_started(member: Any) -> None:
    """The member's page reports media flowing: observe the time since the admission, once per
    admission (a reload or a second tab reports again; the cache remembers the first)."""
    from django.core.cache import cache
    from django.utils import timezone

    from videotermin.appointments.models import Member

    admitted_at = (
        Member.objects.filter(pk=member.pk, user__isnull=True)
        .values_list("admitted_at", flat=True)
        .first()
    )
    if admitted_at is None:
        return
    elapsed = timezone.now() - admitted_at
    if elapsed > MEDIA_REPORT_WINDOW:
        return
    key = f"videotermin:media-started:{member.pk}:{admitted_at.timestamp()}"
    if cache.add(key, 1, timeout=int(MEDIA_REPORT_WINDOW.total_seconds())):
        admit_to_media.observe(max(0.0, elapsed.total_seconds()))


def test_call(backend: str, outcome: str) -> None:
    """A test call started, or was refused: busy, unavailable, invalid."""
    test_calls.labels(backend, outcome).inc()


def test_calls_now(backend: str, running: int) -> None:
    """How many test calls this process runs now."""
    test_calls_running.labels(backend).set(running)


# Scraping ---------------------------------------------------------------------------------------


@dataclass
class DatabaseFacts:
    """What the database says at the moment of a scrape; `ok` false when it could not answer."""

    ok: bool = True
    members: dict[str, int] = field(default_factory=dict)
    consultations: int = 0
    jobs_due: dict[str, int] = field(default_factory=dict)
    jobs_due_oldest: dict[str, float] = field(default_factory=dict)
    jobs_running: dict[str, int] = field(default_factory=dict)
    webhooks_failed: dict[str, int] = field(default_factory=dict)
    webhooks_retrying: int = 0
    webhooks_oldest_pending: float = 0.0


def database_facts() -> DatabaseFacts:
    """Count what the gauges show; a handful of aggregate queries, none per row."""
    from django.db.models import Count, Min, Q
    from django.utils import timezone
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    from videotermin.appointments.models import Member
    from videotermin.webhooks.models import Delivery

    now = timezone.now()
    facts = DatabaseFacts()
    Presence = Member.Presence
    present = (
        Member.objects.filter(presence__in=[Presence.WAITING, Presence.IN_CALL])
        .values("presence")
        .annotate(people=Count("id"), consultations=Count("appointment", distinct=True))
    )
    facts.members = {Presence.WAITING: 0, Presence.IN_CALL: 0}
    for group in present:
        facts.members[group["presence"]] = group["people"]
        if group["presence"] == Presence.IN_CALL:
            facts.consultations = group["consultations"]

    # A job is due once its run_after has come (the backend's "no date" is the greatest date);
    # it has waited since then, or since it was queued.
    never = get_date_max()
    due = DBTaskResult.objects.filter(status=TaskResultStatus.READY).filter(
        Q(run_after=never) | Q(run_after__lte=now)
    )
    queues = due.values("queue_name").annotate(
        jobs=Count("id"),
        oldest_queued=Min("enqueued_at", filter=Q(run_after=never)),
        oldest_due=Min("run_after", filter=~Q(run_after=never)),
    )
    for queued in queues:
        queue = queued["queue_name"]
        facts.jobs_due[queue] = queued["jobs"]
        since = [moment for moment in (queued["oldest_queued"], queued["oldest_due"]) if moment]
        facts.jobs_due_oldest[queue] = max(0.0, (now - min(since)).total_seconds())
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    for busy in running.values("queue_name").annotate(jobs=Count("id")):
        facts.jobs_running[busy["queue_name"]] = busy["jobs"]

    failed = Delivery.objects.filter(status=Delivery.Status.FAILED)
    facts.webhooks_failed = {
        row["error"] or "unknown": row["deliveries"]
        for row in failed.values("error").annotate(deliveries=Count("id"))
    }
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING).aggregate(
        retrying=Count("id", filter=Q(attempts__gt=0)), oldest=Min("created_at")
    )
    facts.webhooks_retrying = pending["retrying"]
    if pending["oldest"] is not None:
        facts.webhooks_oldest_pending = max(0.0, (now - pending["oldest"]).total_seconds())
    return facts


class DatabaseCollector:
    """The scrape-time gauges from a DatabaseFacts (or only `up` 0 when there is none)."""

    def __init__(self, facts: DatabaseFacts | None) -> None:
        self.facts = facts

    def collect(self) -> Iterator[Metric]:
        facts = self.facts
        up = GaugeMetricFamily(
            "videotermin_scrape_database_up",
            "Whether the database answered this scrape's questions (1) or not (0).",
            value=1 if facts is not None and facts.ok else 0,
        )
        yield up
        if facts is None or not facts.ok:
            return
        members = GaugeMetricFamily(
            "videotermin_members",
            "People in the waiting room or in a call now (all nodes), by presence.",
            labels=["presence"],
        )
        for presence, people in sorted(facts.members.items()):
            members.add_metric([str(presence)], people)
        yield members
        yield GaugeMetricFamily(
            "videotermin_consultations_in_call",
            "Consultations with somebody in the call now (all nodes).",
            value=facts.consultations,
        )
        yield _by_label(
            "videotermin_jobs_due",
            "Background jobs due and not yet started, by queue.",
            "queue",
            facts.jobs_due,
            always=["default"],
        )
        yield _by_label(
            "videotermin_jobs_due_oldest_seconds",
            "How long the oldest due job has waited, by queue (0 with none due).",
            "queue",
            facts.jobs_due_oldest,
            always=["default"],
        )
        yield _by_label(
            "videotermin_jobs_running",
            "Background jobs running now, by queue.",
            "queue",
            facts.jobs_running,
            always=["default"],
        )
        yield _by_label(
            "videotermin_webhook_deliveries_failed",
            "Webhook deliveries given up after their last attempt, in the kept log, by error.",
            "error",
            facts.webhooks_failed,
        )
        yield GaugeMetricFamily(
            "videotermin_webhook_deliveries_retrying",
            "Webhook deliveries that failed at least once and will be tried again.",
            value=facts.webhooks_retrying,
        )
        yield GaugeMetricFamily(
            "videotermin_webhook_delivery_oldest_pending_seconds",
            "Age of the oldest webhook delivery not yet delivered (0 with none).",
            value=facts.webhooks_oldest_pending,
        )


def _by_label(
    name: str, documentation: str, label: str, values: dict[str, Any], always: Iterable[str] = ()
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key in sorted(set(values) | set(always)):
        family.add_metric([key], values.get(key, 0))
    return family


def forget_dead_processes(path: str = MULTIPROCESS_DIR) -> None:
    """Drop the live gauges (open sockets, running test calls) of processes that are gone: a
    worker that died must not count its sockets for ever."""
    if not path:
        return
    for entry in os.scandir(path):
        if not entry.name.startswith("gauge_live"):
            continue
        try:
            pid = int(entry.name.rsplit("_", 1)[1].removesuffix(".db"))
        except ValueError:
            continue
        if not _alive(pid):
            mark_process_dead(pid, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def registry(facts: DatabaseFacts | None) -> CollectorRegistry:
    """A registry for one scrape: every process's counts (or this one's) and the database's."""
    scrape = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS_DIR:
        forget_dead_processes()
        MultiProcessCollector(scrape, path=MULTIPROCESS_DIR)
    else:
        for metric in PROCESS_METRICS:
            scrape.register(metric)
    scrape.register(DatabaseCollector(facts))
    return scrape
