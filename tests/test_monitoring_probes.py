"""/healthz and /readyz as a load balancer asks them: alive without asking anything, ready only
when the database, the channel layer, the cache and the configured TURN and Janus answer, and
a 503 that names what failed, in time, however the dependency fails."""

import secrets
import socket
import time

import pytest
from tests.janusserver import JanusServer
from tests.monitoring_helpers import AppServer, ask, closed_port
from tests.turnserver import TurnServer

REDIS = "redis://127.0.0.1:6379/13"


def redis_everywhere(settings, url: str = REDIS) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "videotermin.lib.redislayer.RedisChannelLayer",
            "CONFIG": {"url": url},
        }
    }
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }


def checks_of(response) -> dict[str, dict]:
    return {check["name"]: check for check in response.json()["checks"]}


@pytest.fixture(scope="module")
def without_database():
    """A node whose PostgreSQL does not answer (nothing listens on its port)."""
    database = f"postgres://postgres@127.0.0.1:{closed_port()}/videotermin"
    with AppServer(DATABASE_URL=database) as server:
        yield server


def test_healthz_answers_at_once_while_the_database_is_down(without_database):
    start = time.perf_counter()
    response = without_database.get("/healthz")
    assert time.perf_counter() - start < 0.5
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_the_database_when_it_is_down(without_database):
    response = without_database.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    checks = checks_of(response)
    # Refused at once, or still waiting for the connection pool when the time was up.
    assert checks["database"]["error"] in ("OperationalError", "no answer within 1 s")
    assert checks["channel_layer"]["ok"] and checks["cache"]["ok"]


def test_readyz_is_ready_when_everything_configured_answers(db, settings):
    redis_everywhere(settings)
    settings.TURN_SECRET = secrets.token_hex(16)
    settings.ECHO_BACKEND = "janus"
    with TurnServer(settings.TURN_SECRET) as turn, JanusServer("janus-secret") as janus:
        settings.TURN_URLS = turn.urls
        settings.JANUS_URL = janus.url
        response = ask("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    checks = checks_of(response)
    names = ["database", "channel_layer", "cache"]
    names += [f"turn 127.0.0.1:{turn.port}/udp", f"turn 127.0.0.1:{turn.port}/tcp", "janus"]
    assert list(checks) == names
    for check in checks.values():
        assert check["ok"] is True
        assert 0 <= check["ms"] < 1000


def test_readyz_names_the_channel_layer_when_its_redis_is_down(db, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "videotermin.lib.redislayer.RedisChannelLayer",
            "CONFIG": {"url": f"redis://127.0.0.1:{closed_port()}/0"},
        }
    }
    response = ask("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["channel_layer"]
    assert checks_of(response)["channel_layer"]["error"] == "LayerUnavailable"


def test_readyz_names_the_turn_server_when_nothing_answers_on_its_port(db, settings):
    port = closed_port()
    settings.TURN_SECRET = "secret"
    settings.TURN_URLS = [
        f"turn:127.0.0.1:{port}?transport=udp",
        f"turn:127.0.0.1:{port}?transport=tcp",
    ]
    response = ask("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == [f"turn 127.0.0.1:{port}/udp", f"turn 127.0.0.1:{port}/tcp"]
    assert checks_of(response)["database"]["ok"]


def test_readyz_names_janus_when_it_does_not_answer(db, settings):
    settings.ECHO_BACKEND = "janus"
    settings.JANUS_URL = f"http://127.0.0.1:{closed_port()}/janus"
    response = ask("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["janus"]


def test_a_turn_server_that_swallows_every_request_fails_in_time(db, settings):
    settings.READYZ_TIMEOUT_SECONDS = 0.3
    settings.TURN_SECRET = "secret"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # receives, never answers
        port = silent.getsockname()[1]
        settings.TURN_URLS = [f"turn:127.0.0.1:{port}?transport=udp"]
        start = time.perf_counter()
        response = ask("/readyz")
        took = time.perf_counter() - start
    assert response.status_code == 503
    assert checks_of(response)[f"turn 127.0.0.1:{port}/udp"]["error"] == "no answer within 0.3 s"
    assert took < 1.5


def test_readyz_checks_the_registered_media_servers_not_those_of_the_settings(
    transactional_db, settings, monkeypatch
):
    from videotermin.resources import services

    # What the settings name is not where calls go once servers are registered.
    settings.ECHO_BACKEND = "janus"
    settings.TURN_SECRET = "secret"
    settings.TURN_URLS = [f"turn:127.0.0.1:{closed_port()}?transport=udp"]
    settings.JANUS_URL = f"http://127.0.0.1:{closed_port()}/janus"
    monkeypatch.setenv("VIDEOTERMIN_TEST_TURN", "registered-secret")
    with TurnServer("registered-secret") as turn, JanusServer("janus-secret") as janus:
        services.register(
            kind="turn", name="turn-a", urls=turn.urls, secret_ref="env:VIDEOTERMIN_TEST_TURN"
        )
        services.register(kind="janus", name="janus-a", urls=[janus.url])
        gone = f"http://127.0.0.1:{closed_port()}/janus"
        services.register(kind="janus", name="janus-b", urls=[gone])
        response = ask("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["janus janus-b"]
    checks = checks_of(response)
    assert list(checks) == [
        "database",
        "channel_layer",
        "cache",
        f"turn 127.0.0.1:{turn.port}/udp",
        f"turn 127.0.0.1:{turn.port}/tcp",
        "janus janus-a",
        "janus janus-b",
    ]
    assert checks["janus janus-a"]["ok"] and checks[f"turn 127.0.0.1:{turn.port}/udp"]["ok"]


def test_the_load_balancers_probe_asks_only_what_the_node_needs_itself(db, settings):
    # A TURN outage hits every node alike: taking them all out of service helps nobody.
    settings.TURN_SECRET = "secret"
    settings.TURN_URLS = [f"turn:127.0.0.1:{closed_port()}?transport=udp"]
    response = ask("/readyz?scope=node")
    assert response.status_code == 200
    assert list(checks_of(response)) == ["database", "channel_layer", "cache"]


def test_probes_need_no_host_name_no_https_no_session_and_no_language(db, settings):
    settings.ALLOWED_HOSTS = ["video.agentur.example"]
    settings.SECURE_SSL_REDIRECT = True
    # A page asked the same way is refused (a host name it does not serve) ...
    assert ask("/staff/login/").status_code in (301, 400)
    # ... while a load balancer asking the node by its address over http gets its answer.
    for path in ("/healthz", "/readyz"):
        response = ask(path, headers={"Accept-Language": "de", "Cookie": "sessionid=x"})
        assert response.status_code == 200, path
        assert "set-cookie" not in response.headers
        assert "location" not in response.headers
        assert "content-language" not in response.headers
        assert "vary" not in response.headers
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-type"] == "application/json"


def test_probes_answer_only_reading_methods(db):
    assert ask("/healthz", method="POST").status_code == 405
    assert ask("/readyz", method="HEAD").status_code == 200
