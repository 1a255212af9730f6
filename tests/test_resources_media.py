"""Media resources (A6): TURN servers and Janus nodes registered by the operator, checked by the
job runner against real coturn and Janus, and new calls and test calls placed on a healthy,
least-loaded one; a failed server is taken out and comes back when healthy."""

import asyncio
import base64
import hashlib
import hmac
import io
import json
import re
import urllib.request
from pathlib import Path

import pytest
from aioice.turn import create_turn_endpoint
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command
from tests.janusserver import JanusServer
from tests.serverprocess import free_tcp_port
from tests.turnserver import TurnServer

from videotermin.calls import ice
from videotermin.lib import jobs
from videotermin.resources import placement, services, tasks
from videotermin.resources.health import Verdict
from videotermin.resources.models import MediaServer

SECRET = "coturn-shared-secret-dc1"
OTHER_SECRET = "coturn-shared-secret-dc2"


@pytest.fixture
def secrets_here(monkeypatch, tmp_path):
    """The TURN secrets as the nodes keep them: one in the environment, one in a file."""
    monkeypatch.setenv("VT_TEST_TURN_SECRET", SECRET)
    secret_file = tmp_path / "turn_dc2"
    secret_file.write_text(OTHER_SECRET + "\n")
    return {"env": "env:VT_TEST_TURN_SECRET", "file": f"file:{secret_file}"}


@pytest.fixture(scope="module")
def coturn():
    with TurnServer(SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def coturn_dc2():
    with TurnServer(OTHER_SECRET) as server:
        yield server


def closed_port() -> int:
    return free_tcp_port()


def turn_server(name: str, urls, secret_ref: str) -> MediaServer:
    return services.register(kind="turn", name=name, urls=list(urls), secret_ref=secret_ref)


def check_all() -> None:
    tasks.check_media_servers()


def fresh(server: MediaServer) -> MediaServer:
    return MediaServer.objects.get(pk=server.pk)


def password_for(secret: str, username: str) -> str:
    """What coturn computes for `use-auth-secret`."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def placed(member: str) -> list[str]:
    """The TURN URLs a member's browser is told."""
    return [url for s in ice.ice_servers(member) if "credential" in s for url in s["urls"]]


# Health checks against real servers ----------------------------------------------------------


def test_a_running_coturn_is_healthy_and_a_closed_port_is_not(db, coturn, secrets_here):
    working = turn_server("turn-dc1", coturn.urls, secrets_here["env"])
    gone_udp = turn_server(
        "turn-gone", [f"turn:127.0.0.1:{closed_port()}?transport=udp"], secrets_here["env"]
    )
    gone_tcp = turn_server(
        "turn-gone-tcp", [f"turn:127.0.0.1:{closed_port()}?transport=tcp"], secrets_here["env"]
    )

    check_all()

    assert (fresh(working).healthy, fresh(working).error) == (True, "")
    assert (fresh(gone_udp).healthy, fresh(gone_udp).error) == (False, "ConnectionRefusedError")
    assert (fresh(gone_tcp).healthy, fresh(gone_tcp).error) == (False, "ConnectionRefusedError")
    assert fresh(working).checked_at is not None


def test_a_server_that_answers_nothing_fails_within_the_deadline(db, secrets_here):
    import socket
    import time

    # A UDP socket that reads and never answers: no ICMP refusal, only silence.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        mute = turn_server("turn-mute", [f"turn:127.0.0.1:{port}"], secrets_here["env"])
        started = time.monotonic()
        check_all()
        took = time.monotonic() - started
    assert (fresh(mute).healthy, fresh(mute).error) == (False, "timeout")
    assert took < 4


def test_a_turn_server_whose_secret_cannot_be_read_fails_and_is_never_offered(
    db, coturn, secrets_here, monkeypatch
):
    server = turn_server("turn-dc1", coturn.urls, secrets_here["env"])
    monkeypatch.delenv("VT_TEST_TURN_SECRET")
    placement.forget()

    check_all()

    assert (fresh(server).healthy, fresh(server).error) == (False, "secret")
    assert placed("someone") == []


def test_a_failed_turn_server_is_taken_out_and_comes_back_when_healthy(
    db, coturn_dc2, secrets_here, settings
):
    settings.TURN_URLS = []
    flaky = TurnServer(SECRET)
    with flaky:
        dc1 = turn_server("turn-dc1", flaky.urls, secrets_here["env"])
        dc2 = turn_server("turn-dc2", coturn_dc2.urls, secrets_here["file"])
        check_all()
        assert fresh(dc1).healthy and fresh(dc2).healthy
    # dc1 stops.
    check_all()
    assert (fresh(dc1).healthy, fresh(dc1).error) == (False, "ConnectionRefusedError")
    assert fresh(dc1).changed_at is not None
    assert {tuple(placed(f"member-{n}")) for n in range(4)} == {tuple(coturn_dc2.urls)}

    # dc1 is back on its old port.
    back = TurnServer(SECRET)
    back.port, back.min_port, back.max_port = flaky.port, flaky.min_port, flaky.max_port
    with back:
        check_all()
        assert (fresh(dc1).healthy, fresh(dc1).error) == (True, "")
        newcomers = {tuple(placed(f"newcomer-{n}")) for n in range(4)}
    # dc2 carries the four placed meanwhile: the newcomers fill dc1 up.
    assert newcomers == {tuple(flaky.urls)}


# Placement ----------------------------------------------------------------------------------


def healthy(server: MediaServer, ok: bool = True, load=None) -> None:
    services.record_health(server, Verdict(ok, "" if ok else "timeout", load))


@pytest.fixture
def two_turn_servers(db, secrets_here, settings):
    settings.TURN_URLS = ["turn:from-settings.example:3478"]
    settings.TURN_SECRET = "from-settings"
    one = turn_server("turn-a", ["turn:turn-a.example:3478?transport=udp"], secrets_here["env"])
    two = turn_server("turn-b", ["turn:turn-b.example:3478?transport=udp"], secrets_here["file"])
    healthy(one)
    healthy(two)
    return one, two


def test_new_calls_are_spread_over_the_healthy_turn_servers_by_load(two_turn_servers):
    first = [placed(f"member-{n}")[0] for n in range(6)]
    assert first.count("turn:turn-a.example:3478?transport=udp") == 3
    assert first.count("turn:turn-b.example:3478?transport=udp") == 3


def test_a_member_keeps_the_turn_server_it_got_when_its_credentials_are_renewed(
    two_turn_servers,
):
    before = placed("dana")
    for other in range(5):
        placed(f"other-{other}")
    assert placed("dana") == before


def test_the_least_loaded_is_chosen_and_a_failed_one_is_skipped(two_turn_servers):
    one, two = two_turn_servers
    for n in range(3):
        placed(f"early-{n}")  # a: 2, b: 1
    assert placed("next")[0] == "turn:turn-b.example:3478?transport=udp"

    healthy(two, ok=False)
    everyone = {placed(f"late-{n}")[0] for n in range(5)}
    assert everyone == {"turn:turn-a.example:3478?transport=udp"}
    # Somebody placed on b before it failed moves to a with the next credentials.
    assert placed("next")[0] == "turn:turn-a.example:3478?transport=udp"


def test_when_every_turn_server_has_failed_all_are_offered_rather_than_none(two_turn_servers):
    one, two = two_turn_servers
    healthy(one, ok=False)
    healthy(two, ok=False)
    assert {placed(f"m-{n}")[0] for n in range(4)} == {
        "turn:turn-a.example:3478?transport=udp",
        "turn:turn-b.example:3478?transport=udp",
    }


def test_a_server_not_checked_yet_is_offered(db, secrets_here, settings):
    settings.TURN_URLS = []
    turn_server("turn-new", ["turn:turn-new.example:3478"], secrets_here["env"])
    assert placed("dana") == ["turn:turn-new.example:3478"]


def test_without_registered_servers_the_settings_serve_as_before(db, settings):
    settings.TURN_URLS = ["turn:turn.agentur.example:3478?transport=udp"]
    settings.TURN_SECRET = "from-settings"
    [server] = ice.ice_servers("dana")
    assert server["urls"] == settings.TURN_URLS
    assert server["credential"] == password_for("from-settings", server["username"])
    settings.TURN_URLS = []
    assert ice.ice_servers("dana") == []


def test_the_registry_replaces_turn_urls_for_relay_only_agencies_and_the_ttl(
    db, agency, secrets_here, settings
):
    settings.TURN_URLS = []
    agency.relay_only = True
    assert ice.relay_missing(agency)
    turn_server("turn-dc1", ["turn:turn.agentur.example:3478"], secrets_here["env"])

    assert not ice.relay_missing(agency)
    agency.full_clean()  # relay only is allowed with a registered TURN server
    config = ice.ice_config(agency, "dana")
    assert config["ttl"] == settings.TURN_TTL_SECONDS
    assert config["policy"] == "relay"


def allocate(server: TurnServer, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation at a real coturn with these credentials; the relayed address."""

    async def run():
        transport, _protocol = await create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", server.port), username, password
        )
        try:
            return transport.get_extra_info("sockname")
        finally:
            transport.close()

    return async_to_sync(run)()


def test_coturn_accepts_the_credentials_made_from_the_registered_servers_secret(
    db, coturn, coturn_dc2, secrets_here, settings
):
    settings.TURN_URLS = []
    dc1 = turn_server("turn-dc1", coturn.urls, secrets_here["env"])
    turn_server("turn-dc2", coturn_dc2.urls, secrets_here["file"])
    check_all()

    for member in ("dana", "olga", "staff:7", "emil"):
        [server] = [s for s in ice.ice_servers(member) if "credential" in s]
        real = coturn if server["urls"] == coturn.urls else coturn_dc2
        relayed = allocate(real, server["username"], server["credential"])
        assert relayed[0] == "127.0.0.1"
    # Credentials of one server's secret open nothing at the other.
    healthy(dc1, ok=False)
    [server] = [s for s in ice.ice_servers("newcomer") if "credential" in s]
    assert server["urls"] == coturn_dc2.urls
    with pytest.raises(Exception):  # noqa: B017 (aioice raises its TransactionFailed)
        allocate(coturn, server["username"], server["credential"])


# Janus --------------------------------------------------------------------------------------


class JanusWithAdmin(JanusServer):
    """The shipped Janus configuration with its admin API switched on, on loopback."""

    def __init__(self, api_secret: str, admin_secret: str) -> None:
        super().__init__(api_secret)
        self.admin_secret = admin_secret
        self.admin_port = free_tcp_port()

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}/admin"

    def start(self, argv, answers, timeout: float = 10) -> None:
        folder = Path(self.dir.name)
        core = folder / "janus.jcfg"
        core.write_text(
            core.read_text().replace(
                "general: {", f'general: {{\n\tadmin_secret = "{self.admin_secret}"', 1
            )
        )
        http = folder / "janus.transport.http.jcfg"
        admin = (
            f'admin: {{\n\tadmin_base_path = "/admin"\n\tadmin_http = true\n'
            f'\tadmin_port = {self.admin_port}\n\tadmin_ip = "127.0.0.1"\n\tadmin_https = false\n}}'
        )
        http.write_text(re.sub(r"admin: \{.*?\}", admin, http.read_text(), flags=re.S))
        super().start(argv, answers, timeout)

    def open_session(self) -> int:
        """A Janus session of somebody else's (another node's test call)."""
        body = {"janus": "create", "transaction": "t", "apisecret": self.api_secret}
        request = urllib.request.Request(
            self.url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.load(response)["data"]["id"]


API_SECRET = "janus-api-secret-for-every-node"


@pytest.fixture(scope="module")
def janus_a():
    with JanusWithAdmin(API_SECRET, "admin-a") as server:
        yield server


@pytest.fixture(scope="module")
def janus_b():
    with JanusWithAdmin(API_SECRET, "admin-b") as server:
        yield server


@pytest.fixture
def admin_secrets(monkeypatch):
    monkeypatch.setenv("VT_TEST_JANUS_ADMIN_A", "admin-a")
    monkeypatch.setenv("VT_TEST_JANUS_ADMIN_B", "admin-b")


def janus_node(name: str, server: JanusWithAdmin | None, *, url: str = "", admin=True):
    admin_url = server.admin_url if server is not None and admin else ""
    secret = f"env:VT_TEST_JANUS_ADMIN_{name[-1].upper()}" if admin_url else ""
    return services.register(
        kind="janus",
        name=name,
        urls=[url or server.url],
        admin_url=admin_url,
        admin_secret_ref=secret,
    )


def test_a_running_janus_is_healthy_with_its_session_count_and_a_closed_port_is_not(
    db, janus_a, admin_secrets
):
    node = janus_node("janus-a", janus_a)
    plain = janus_node("janus-plain", janus_a, admin=False)
    gone = janus_node("janus-gone", None, url=f"http://127.0.0.1:{closed_port()}/janus")
    check_all()
    sessions_before = fresh(node).load

    janus_a.open_session()
    check_all()

    assert fresh(node).healthy and fresh(node).load == sessions_before + 1
    assert fresh(plain).healthy and fresh(plain).load is None
    assert (fresh(gone).healthy, fresh(gone).error) == (False, "ConnectError")


def test_a_wrong_admin_secret_fails_the_janus_check(db, janus_a, monkeypatch):
    monkeypatch.setenv("VT_TEST_JANUS_ADMIN_A", "guessed")
    node = janus_node("janus-a", janus_a)
    check_all()
    assert (fresh(node).healthy, fresh(node).error) == (False, "admin_refused")


def test_a_test_call_goes_to_the_healthy_janus_with_the_fewest_sessions(
    db, settings, janus_a, janus_b, admin_secrets
):
    settings.JANUS_URL = f"http://127.0.0.1:{closed_port()}/janus"
    a = janus_node("janus-a", janus_a)
    b = janus_node("janus-b", janus_b)
    check_all()
    for _ in range(fresh(b).load - fresh(a).load + 2):
        janus_a.open_session()
    check_all()
    assert fresh(a).load > fresh(b).load

    assert placement.janus_url() == janus_b.url

    healthy(b, ok=False)
    assert placement.janus_url() == janus_a.url


def test_without_registered_nodes_the_janus_url_setting_serves(db, settings):
    settings.JANUS_URL = "http://127.0.0.1:8088/janus"
    assert placement.janus_url() == "http://127.0.0.1:8088/janus"


@pytest.mark.django_db(transaction=True)
def test_the_echo_opens_its_janus_session_on_the_registered_node(settings, janus_a, janus_b):
    from aiortc import RTCConfiguration, RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    from videotermin.checks import echo

    settings.ECHO_BACKEND = "janus"
    settings.JANUS_API_SECRET = API_SECRET
    settings.JANUS_URL = f"http://127.0.0.1:{closed_port()}/janus"
    node = janus_node("janus-b", janus_b, admin=False)
    janus_node("janus-gone", None, url=f"http://127.0.0.1:{closed_port()}/janus")
    check_all()
    assert fresh(node).healthy

    async def scenario():
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
        await pc.setLocalDescription(await pc.createOffer())
        before = janus_b.sessions()
        try:
            # Asked on the event loop, as the check page's view does.
            _call_id, answer = await echo.backend().answer("dana", pc.localDescription.sdp)
            assert answer.startswith("v=0")
            assert janus_b.sessions() == before + 1
            # Without an admin API, this process's own test calls are the node's load.
            assert placement.janus_load(placement.registry().of("janus")[0]) == 1
        finally:
            await pc.close()
            await echo.backend().close_all()

    async_to_sync(scenario)()


# The room's socket asks on the event loop ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_room_page_gets_the_registered_turn_server_over_its_socket(
    interpreter_booking, counselor, secrets_here, settings
):
    from tests.test_room_consumer import enter, socket

    settings.TURN_URLS = []
    turn_server("turn-dc1", ["turn:turn.agentur.example:3478?transport=udp"], secrets_here["env"])

    async def scenario():
        alice = socket(interpreter_booking.appointment, user=counselor)
        try:
            joined = await enter(alice)
        finally:
            await alice.disconnect()
        return joined

    joined = async_to_sync(scenario)()

    [server] = joined["ice"]["servers"]
    assert server["urls"] == ["turn:turn.agentur.example:3478?transport=udp"]
    assert server["username"].endswith(ice.opaque_id(ice.staff_member_id(counselor)))
    assert server["credential"] == password_for(SECRET, server["username"])
    assert joined["ice"]["ttl"] == settings.TURN_TTL_SECONDS


# The job runner and the operator's command ---------------------------------------------------


def test_the_job_runner_checks_the_media_servers_every_twenty_seconds(db, coturn, secrets_here):
    periodic = jobs.periodic_tasks()["videotermin.resources.tasks.check_media"]
    assert periodic.interval.total_seconds() == 20
    server = turn_server("turn-dc1", coturn.urls, secrets_here["env"])

    tasks.check_media.call()

    assert fresh(server).healthy is True


def mediaserver(*args) -> str:
    out = io.StringIO()
    call_command("mediaserver", *args, stdout=out)
    return out.getvalue()


def test_the_operator_registers_lists_and_removes_media_servers(
    db, coturn, janus_a, secrets_here, admin_secrets
):
    added = mediaserver("add", "turn", "turn-dc1", *coturn.urls, "--secret", secrets_here["env"])
    assert "turn turn-dc1 registered." in added
    assert re.search(r"turn-dc1\s+healthy", added)
    mediaserver(
        "add", "janus", "janus-a", janus_a.url,
        "--admin-url", janus_a.admin_url, "--admin-secret", "env:VT_TEST_JANUS_ADMIN_A",
    )  # fmt: skip
    mediaserver("add", "janus", "janus-gone", f"http://127.0.0.1:{closed_port()}/janus")

    listing = mediaserver("list")

    assert re.search(r"janus-a\s+healthy\s+load \d+ sessions", listing)
    assert re.search(r"janus-gone\s+FAILED \(ConnectError\)", listing)
    assert SECRET not in listing and "admin-a" not in listing
    assert "removed" in mediaserver("remove", "janus-gone")
    assert not MediaServer.objects.filter(name="janus-gone").exists()
    assert "janus-gone" not in mediaserver("list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("turn", "turn-x", "turn:t.example:3478"), "needs its shared secret"),
        (("turn", "turn-x", "http://t.example", "--secret", "env:X"), "not a TURN URL"),
        (("turn", "turn-x", "turn:t.example", "--secret", "TURN_SECRET"), "cannot be read"),
        (("turn", "turn-x", "turn:t.example", "--secret", "env:VT_TEST_NOT_SET"), "cannot be read"),
        (("janus", "janus-x", "ftp://j.example"), "http:// or https://"),
        (("janus", "janus-x", "http://a.example", "http://b.example"), "exactly one URL"),
        (("janus", "janus-x", "http://j.example", "--secret", "env:X"), "no shared secret"),
    ],
)
def test_the_command_refuses_a_server_it_could_not_use(db, args, message):
    with pytest.raises(CommandError, match=message):
        mediaserver("add", *args)
    assert not MediaServer.objects.exists()


def test_a_name_is_registered_once(db, secrets_here):
    turn_server("turn-dc1", ["turn:a.example"], secrets_here["env"])
    with pytest.raises(services.Invalid, match="already"):
        turn_server("turn-dc1", ["turn:b.example"], secrets_here["env"])


def test_the_registry_holds_references_to_secrets_never_the_secrets(db, secrets_here):
    turn_server("turn-dc1", ["turn:a.example"], secrets_here["env"])
    turn_server("turn-dc2", ["turn:b.example"], secrets_here["file"])
    stored = json.dumps(list(MediaServer.objects.values()), default=str)
    assert SECRET not in stored and OTHER_SECRET not in stored
