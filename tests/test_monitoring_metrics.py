"""/metrics: only for Prometheus (its token, its addresses), and numbers that move with what
really happens in the rooms, the job queue and the webhooks — never a series per person."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client.parser import text_string_to_metric_families
from tests.monitoring_helpers import LOOPBACK, PROMETHEUS, STRANGER, TOKEN, ask, scrape, value
from tests.personas import agree

from videotermin.appointments.services import NotAllowed
from videotermin.asgi import websocket_urlpatterns
from videotermin.calls import services
from videotermin.calls.state import SESSION_KEY
from videotermin.monitoring.sockets import SocketMetrics
from videotermin.webhooks.models import Delivery, Endpoint, Event

# The scrape reads the database in a thread of its own: it sees only what was committed.
pytestmark = pytest.mark.django_db(transaction=True)

BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def prometheus_only(settings):
    """Prometheus scrapes from 10.1.0.0/16 with the token."""
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED = ["10.1.0.0/16", "127.0.0.1"]
    settings.TRUSTED_PROXIES = []


# Who may read them


def test_metrics_are_refused_without_the_token(db):
    response = ask("/metrics", client=PROMETHEUS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "videotermin_" not in response.text


def test_metrics_are_refused_with_a_wrong_token(db):
    wrong = {"Authorization": f"Bearer {TOKEN[:-1]}x"}
    assert ask("/metrics", client=PROMETHEUS, headers=wrong).status_code == 401


def test_metrics_are_served_to_prometheus_with_the_token(db):
    response = ask("/metrics", client=PROMETHEUS, headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "videotermin_admissions_total" in response.text


def test_metrics_are_refused_from_a_foreign_address_even_with_the_token(db):
    response = ask("/metrics", client=STRANGER, headers=BEARER)
    assert response.status_code == 403
    assert "videotermin_" not in response.text


def test_a_forwarded_address_from_anybody_but_a_trusted_proxy_is_ignored(db):
    claimed = {**BEARER, "X-Forwarded-For": PROMETHEUS[0]}
    assert ask("/metrics", client=STRANGER, headers=claimed).status_code == 403


def test_through_the_trusted_proxy_the_real_client_address_counts(db, settings):
    # The reverse proxy on this machine passes a stranger's request on: not Prometheus.
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    forwarded = {**BEARER, "X-Forwarded-For": STRANGER[0]}
    assert ask("/metrics", client=LOOPBACK, headers=forwarded).status_code == 403
    assert ask("/metrics", client=LOOPBACK, headers=BEARER).status_code == 200


def test_the_token_alone_is_enough_when_no_addresses_are_configured(db, settings):
    settings.METRICS_ALLOWED = []
    assert ask("/metrics", client=STRANGER, headers=BEARER).status_code == 200
    assert ask("/metrics", client=STRANGER).status_code == 401


def test_the_addresses_alone_are_enough_when_no_token_is_configured(db, settings):
    settings.METRICS_TOKEN = ""
    assert ask("/metrics", client=PROMETHEUS).status_code == 200
    assert ask("/metrics", client=STRANGER).status_code == 403


def test_with_neither_token_nor_addresses_nobody_reads_the_metrics(db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED = []
    assert ask("/metrics", client=LOOPBACK).status_code == 403


# What they count


def host_of(appointment):
    return appointment.members.get(role="host")


def test_an_admission_through_the_services_moves_the_counters_and_gauges(booking, counselor):
    dana = agree(booking.citizen)
    before = scrape()
    alice = services.connect(host_of(booking.appointment), session="0" * 16, channel="alice")
    services.connect(dana, session="d" * 16, channel="dana")
    waiting = scrape()
    assert value(waiting, "videotermin_members", presence="waiting") == 1
    assert value(waiting, "videotermin_members", presence="in_call") == 1  # Alice
    services.admit(dana, by=alice)
    after = scrape()
    admitted = value(after, "videotermin_admissions_total")
    assert admitted == value(before, "videotermin_admissions_total") + 1
    assert value(after, "videotermin_members", presence="waiting") == 0
    assert value(after, "videotermin_members", presence="in_call") == 2
    assert value(after, "videotermin_consultations_in_call") == 1
    assert value(after, "videotermin_scrape_database_up") == 1


def test_a_refused_admission_counts_nothing(booking, counselor):
    dana = agree(booking.citizen)
    alice = services.connect(host_of(booking.appointment), session="0" * 16, channel="alice")
    before = value(scrape(), "videotermin_admissions_total")
    with pytest.raises(NotAllowed):
        services.admit(dana, by=alice)  # not in the waiting room
    assert value(scrape(), "videotermin_admissions_total") == before


def test_refused_joins_are_counted_by_cause(booking):
    before = scrape()
    with pytest.raises(NotAllowed):
        services.connect(booking.citizen, session="d" * 16, channel="dana")  # no consent yet
    after = scrape()
    cause = {"cause": "no_consent"}
    assert value(after, "videotermin_join_failures_total", **cause) == (
        value(before, "videotermin_join_failures_total", **cause) + 1
    )


# The room's sockets, as the browser's pages use them

TIMEOUT = 3
SAMPLE = {"rttMs": 48.5, "lossPct": 1.2, "kbpsOut": 151.0, "kbpsIn": 620, "mode": "saver"}
application = SocketMetrics(URLRouter(websocket_urlpatterns))


def room_socket(appointment, *, user=None, member=None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/room/{appointment.public_id}/")
    communicator.scope["user"] = user or AnonymousUser()
    opened = {}
    if member is not None:
        opened[str(member.public_id)] = member.links.order_by("pk").first().pk
    communicator.scope["session"] = {SESSION_KEY: opened}
    return communicator


async def enter(communicator) -> dict:
    connected, code = await communicator.connect(TIMEOUT)
    assert connected, code
    joined = await communicator.receive_json_from(TIMEOUT)
    assert joined["type"] == "joined", joined
    return joined


async def next_of(communicator, kind: str, where=lambda message: True) -> dict:
    while True:
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        if message["type"] == kind and where(message):
            return message


def send(communicator, kind: str, **fields):
    return communicator.send_json_to({"v": 2, "type": kind, **fields})


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_call_on_the_room_sockets_moves_every_room_metric(booking, counselor):
    dana = agree(booking.citizen)
    dana_id = str(dana.public_id)
    marks: dict[str, dict] = {"before": scrape()}

    alice = room_socket(booking.appointment, user=counselor)
    citizen = room_socket(booking.appointment, member=dana)

    async def scenario():
        await enter(alice)
        await enter(citizen)
        marks["open"] = await sync(scrape)()
        await send(alice, "admit", member=dana_id)
        await next_of(citizen, "member", lambda m: m["member"]["presence"] == "in_call")
        # Her page's first peer connection comes up; a reload would report again.
        await send(citizen, "media_started")
        await send(citizen, "media_started")
        # Two network samples in the call, the second after stepping down to audio only.
        await send(citizen, "status", network=SAMPLE)
        await send(citizen, "status", network={**SAMPLE, "mode": "audio"})
        await next_of(alice, "network", lambda m: m["network"]["mode"] == "audio")
        await send(citizen, "ping")
        await next_of(citizen, "pong")
        await citizen.send_to(text_data="not json")
        await next_of(citizen, "error")
        for communicator in (citizen, alice):
            await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)
    before, opened, after = marks["before"], marks["open"], scrape()
    assert moved(before, opened, "videotermin_sockets_open", kind="room") == 2
    assert moved(before, after, "videotermin_sockets_open", kind="room") == 0
    assert moved(before, after, "videotermin_sockets_opened_total", kind="room") == 2
    assert moved(before, after, "videotermin_admissions_total") == 1
    assert moved(before, after, "videotermin_admit_to_media_seconds_count") == 1
    assert 0 < moved(before, after, "videotermin_admit_to_media_seconds_sum") < 10
    assert moved(before, after, "videotermin_call_rtt_seconds_count") == 2
    assert moved(before, after, "videotermin_call_rtt_seconds_sum") == pytest.approx(0.097)
    assert moved(before, after, "videotermin_call_rtt_seconds_bucket", le="0.05") == 2
    assert moved(before, after, "videotermin_call_loss_ratio_bucket", le="0.02") == 2
    assert (
        moved(before, after, "videotermin_call_bitrate_bits_per_second_count", direction="in") == 2
    )
    assert moved(before, after, "videotermin_call_quality_samples_total", mode="saver") == 1
    assert moved(before, after, "videotermin_call_quality_samples_total", mode="audio") == 1
    assert moved(before, after, "videotermin_call_quality_steps_total", direction="down") == 1
    for kind in ("admit", "media_started", "ping"):
        assert moved(before, after, "videotermin_signaling_messages_total", type=kind) >= 1
    assert moved(before, after, "videotermin_signaling_messages_total", type="status") >= 2
    assert moved(before, after, "videotermin_signaling_errors_total", code="invalid") == 1
    # Nothing that leads back to Dana or her consultation.
    text = ask("/metrics", headers=BEARER).text
    for trace in (dana_id, str(booking.appointment.public_id), "Dana", "dana@example.org"):
        assert trace not in text


def test_a_waiting_persons_round_trip_goes_into_its_own_histogram(booking, counselor):
    dana = agree(booking.citizen)
    before = scrape()

    citizen = room_socket(booking.appointment, member=dana)

    async def scenario():
        await enter(citizen)
        waiting = {"rttMs": 48, "lossPct": None, "kbpsOut": None, "kbpsIn": None, "mode": "high"}
        await send(citizen, "status", network=waiting)
        await send(citizen, "ping")
        await next_of(citizen, "pong")
        await citizen.disconnect(timeout=TIMEOUT)

    run(scenario)
    after = scrape()
    assert moved(before, after, "videotermin_waiting_rtt_seconds_count") == 1
    assert moved(before, after, "videotermin_call_rtt_seconds_count") == 0
    assert moved(before, after, "videotermin_call_quality_samples_total", mode="high") == 0


def test_a_stranger_with_a_guessed_room_is_a_forbidden_join(booking):
    before = scrape()

    stranger = room_socket(booking.appointment)

    async def scenario():
        connected, code = await stranger.connect(TIMEOUT)
        assert not connected and code == 4403

    run(scenario)
    after = scrape()
    assert moved(before, after, "videotermin_join_failures_total", cause="forbidden") == 1
    assert moved(before, after, "videotermin_sockets_open", kind="room") == 0


def test_a_staff_day_view_counts_as_such_while_it_is_open(counselor):
    day_view = WebsocketCommunicator(application, "/ws/staff/")
    day_view.scope["user"] = counselor
    marks: dict[str, dict] = {"before": scrape()}

    async def scenario():
        connected, _ = await day_view.connect(TIMEOUT)
        assert connected
        marks["open"] = await sync(scrape)()
        await day_view.disconnect(timeout=TIMEOUT)

    run(scenario)
    before, opened, after = marks["before"], marks["open"], scrape()
    assert moved(before, opened, "videotermin_sockets_open", kind="day_view") == 1
    assert moved(before, opened, "videotermin_sockets_open", kind="room") == 0
    assert moved(before, after, "videotermin_sockets_open", kind="day_view") == 0
    assert moved(before, after, "videotermin_sockets_opened_total", kind="day_view") == 1


def test_media_reported_by_staff_or_before_admission_is_no_latency(booking, counselor):
    dana = agree(booking.citizen)
    before = scrape()

    alice = room_socket(booking.appointment, user=counselor)
    citizen = room_socket(booking.appointment, member=dana)

    async def scenario():
        await enter(alice)
        await enter(citizen)
        await send(alice, "media_started")
        await send(citizen, "media_started")  # still waiting: not admitted
        await send(citizen, "ping")
        await next_of(citizen, "pong")
        for communicator in (citizen, alice):
            await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert moved(before, scrape(), "videotermin_admit_to_media_seconds_count") == 0


# What the database knows at the scrape


def test_the_job_queue_shows_its_depth_and_the_age_of_its_oldest_due_job(db):
    now = timezone.now()
    for minutes in (5, 1):
        job = {
            "task_path": "videotermin.lib.jobs.recover",
            "args_kwargs": {"args": [], "kwargs": {}},
            "backend_name": "default",
        }
        DBTaskResult.objects.create(**job, run_after=now - timedelta(minutes=minutes))
    # A job due only later is no backlog.
    DBTaskResult.objects.create(**job, run_after=now + timedelta(minutes=30))
    samples = scrape()
    assert value(samples, "videotermin_jobs_due", queue="default") == 2
    assert 300 <= value(samples, "videotermin_jobs_due_oldest_seconds", queue="default") < 360


def test_failed_webhook_deliveries_are_shown_by_error(agency):
    endpoint = Endpoint.objects.create(
        agency=agency, url="https://crm.agentur.example/hook", secret_sealed="x"
    )
    now = timezone.now()
    for n, (status, error, attempts) in enumerate(
        [("failed", "timeout", 12), ("failed", "timeout", 12), ("pending", "status", 3)]
    ):
        event = Event.objects.create(agency=agency, type="member.admitted", body="{}")
        Delivery.objects.create(
            endpoint=endpoint,
            event=event,
            status=status,
            error=error,
            attempts=attempts,
            created_at=now - timedelta(minutes=10 * (n + 1)),
        )
    samples = scrape()
    assert value(samples, "videotermin_webhook_deliveries_failed", error="timeout") == 2
    assert value(samples, "videotermin_webhook_deliveries_retrying") == 1
    assert 1800 <= value(samples, "videotermin_webhook_delivery_oldest_pending_seconds") < 1900


DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "videotermin.json"


def test_the_grafana_dashboard_shows_only_metrics_that_exist(db):
    text = ask("/metrics", headers=BEARER).text
    exposed = {family.name for family in text_string_to_metric_families(text)}
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queries = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    used = {
        re.sub(r"_(bucket|count|sum|total)$", "", name)
        for query in queries
        for name in re.findall(r"videotermin_[a-z_]+", query)
    }
    assert len(used) > 15
    assert used <= exposed, used - exposed


def test_a_signal_to_a_page_that_is_behind_is_dropped_and_counted_and_the_sender_stays(
    booking, counselor, monkeypatch
):
    from channels.exceptions import ChannelFull
    from channels.layers import get_channel_layer

    dana = agree(booking.citizen)
    before = scrape()
    alice = room_socket(booking.appointment, user=counselor)
    citizen = room_socket(booking.appointment, member=dana)
    layer = get_channel_layer()
    deliver = layer.send

    async def behind(channel, message):
        # Dana's page does not keep up: her connection's queue is full.
        if message["type"] == "room.signal":
            raise ChannelFull()
        await deliver(channel, message)

    async def scenario():
        await enter(alice)
        joined = await enter(citizen)
        await send(alice, "admit", member=str(dana.public_id))
        await next_of(citizen, "member", lambda m: m["member"]["presence"] == "in_call")
        monkeypatch.setattr(layer, "send", behind)
        await send(
            alice, "signal", to=joined["session"], description={"type": "offer", "sdp": "v=0"}
        )
        await send(alice, "ping")
        await next_of(alice, "pong")
        for communicator in (citizen, alice):
            await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert moved(before, scrape(), "videotermin_relays_dropped_total", type="room.signal") == 1


def sync(function):
    from asgiref.sync import sync_to_async

    return sync_to_async(function, thread_sensitive=False)


def run(scenario):
    async_to_sync(scenario)()
