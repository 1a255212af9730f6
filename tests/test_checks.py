"""The test call's echo and the network check's endpoints (J7)."""

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import uuid

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils.translation import override
from tests.serverprocess import free_tcp_port

from videotermin.appointments import services as appointments
from videotermin.calls.services import update_status
from videotermin.checks import echo
from videotermin.checks.summary import network_summary
from videotermin.consent import services as consent
from videotermin.staff.live import describe


def url(name: str, participant, **query) -> str:
    address = reverse(f"checks:{name}", args=[participant.public_id])
    return address + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def dana(client, booking, consenting_citizen):
    """Dana's browser: she opened her link and agreed."""
    client.get(reverse("journey:link", args=[booking.token]))
    return consenting_citizen


@pytest.fixture
def emil(book, agency):
    """Emil, who has his own appointment and agreed too."""
    booking = book(name="Emil Novak", email="emil@example.org", language="en")
    consent.decide(booking.citizen, consent.current_text(agency, "en"), accepted=True)
    return booking


@pytest.fixture(autouse=True)
def no_echo_left_over():
    yield
    running = {name: b.count() for name, b in echo._backends.items() if b.count()}
    assert not running, f"a test call was left running: {running}"


async def offer_from_a_browser() -> RTCPeerConnection:
    """A peer like the check page's: camera and microphone, all candidates in the offer."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    return pc


def masked(sdp: str) -> str:
    """The offer as Firefox writes it: every host address replaced by a random .local name."""
    names: dict[str, str] = {}

    def mask(match: re.Match) -> str:
        name = names.setdefault(match["address"], f"{uuid.uuid4()}.local")
        return f"{match['head']}{name}{match['tail']}"

    pattern = r"(?P<head>a=candidate:\S+ \d+ \S+ \d+ )(?P<address>\S+)(?P<tail> \d+ typ host)"
    masked_sdp, count = re.subn(pattern, mask, sdp)
    assert count > 0, "the offer had no host candidate to mask"
    return masked_sdp


async def post_offer(client: AsyncClient, participant, sdp: str):
    return await client.post(
        url("echo", participant),
        json.dumps({"type": "offer", "sdp": sdp}),
        content_type="application/json",
    )


async def open_link(booking) -> AsyncClient:
    client = AsyncClient()
    await client.get(reverse("journey:link", args=[booking.token]))
    return client


def test_the_echo_answers_an_offer_and_sends_the_citizens_video_back(
    echo_backend, booking, consenting_citizen
):
    async def scenario():
        client = await open_link(booking)
        pc = await offer_from_a_browser()
        echoed = asyncio.get_running_loop().create_future()
        pc.on("track", lambda track: track.kind == "video" and echoed.set_result(track))
        try:
            response = await post_offer(client, consenting_citizen, pc.localDescription.sdp)
            assert response.status_code == 200, response.content
            assert "no-store" in response["Cache-Control"]
            answer = response.json()
            assert answer["type"] == "answer" and "a=candidate" in answer["sdp"]
            await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
            track = await asyncio.wait_for(echoed, 10)
            frame = await asyncio.wait_for(track.recv(), 10)
            assert frame.width == 640 and frame.height == 480  # the echo of our own picture
            stopped = await client.post(url("echo_stop", consenting_citizen))
            assert stopped.status_code == 204
            assert echo.backend().count() == 0
        finally:
            await pc.close()
            await echo.backend().close_all()

    async_to_sync(scenario)()


def test_the_echo_reaches_a_browser_that_shows_only_masked_host_addresses(
    echo_backend, booking, consenting_citizen
):
    async def scenario():
        client = await open_link(booking)
        pc = await offer_from_a_browser()
        echoed = asyncio.get_running_loop().create_future()
        pc.on("track", lambda track: track.kind == "video" and echoed.set_result(track))
        try:
            offer = masked(pc.localDescription.sdp)
            response = await post_offer(client, consenting_citizen, offer)
            assert response.status_code == 200, response.content
            answer = response.json()["sdp"]
            # The server's own addresses, so that the browser's checks can teach it hers.
            assert re.search(r"a=candidate:\S+ 1 udp \d+ [\d.:a-f]+ \d+ typ host", answer)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            track = await asyncio.wait_for(echoed, 10)
            frame = await asyncio.wait_for(track.recv(), 10)
            assert frame.width == 640 and frame.height == 480
        finally:
            await pc.close()
            await echo.backend().close_all()

    async_to_sync(scenario)()


FIREFOX_AUDIO = (
    "m=audio 9 UDP/TLS/RTP/SAVPF 109\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=candidate:0 1 UDP 2122187007 2692bae9-faa8-422a-852b-09be3d5e0cfa.local 45189 typ host\r\n"
    "a=candidate:2 1 TCP 2105458943 2692bae9-faa8-422a-852b-09be3d5e0cfa.local 9 typ host "
    "tcptype active\r\n"
    "a=end-of-candidates\r\n"
)


def test_the_browsers_masked_host_candidates_do_not_reach_the_server_side_peer():
    offer = "v=0\r\n" + FIREFOX_AUDIO + FIREFOX_AUDIO.replace("audio", "video")

    cleaned = echo.without_masked_candidates(offer)

    assert ".local" not in cleaned
    # With no candidate left, the end of candidates would make aioice give up at once.
    assert "end-of-candidates" not in cleaned
    assert cleaned.count("m=") == 2 and cleaned.endswith("\r\n")


def test_an_offer_with_reachable_candidates_keeps_them_and_their_end():
    relayed = "a=candidate:5 1 UDP 8265471 203.0.113.7 50001 typ relay raddr 0.0.0.0 rport 0"
    offer = "v=0\r\n" + FIREFOX_AUDIO.replace(
        "a=end-of-candidates", f"{relayed}\r\na=end-of-candidates"
    )

    cleaned = echo.without_masked_candidates(offer)

    assert relayed in cleaned and ".local" not in cleaned
    assert "a=end-of-candidates" in cleaned


def test_the_echo_refuses_a_browser_that_never_opened_the_link(booking, consenting_citizen):
    async def scenario():
        response = await post_offer(AsyncClient(), consenting_citizen, "v=0\r\n")
        assert response.status_code == 403
        assert echo.backend().count() == 0

    async_to_sync(scenario)()


def test_the_echo_refuses_a_citizen_who_has_not_agreed(booking, citizen):
    async def scenario():
        client = await open_link(booking)
        response = await post_offer(client, citizen, "v=0\r\n")
        assert response.status_code == 403
        # In her appointment's language, German.
        assert "Einwilligungserklärung" in response.json()["error"]

    async_to_sync(scenario)()


def test_the_echo_refuses_an_offer_it_cannot_read(echo_backend, booking, consenting_citizen):
    async def scenario():
        client = await open_link(booking)
        garbage = await post_offer(client, consenting_citizen, "not an sdp")
        answer = await client.post(
            url("echo", consenting_citizen),
            json.dumps({"type": "answer", "sdp": "v=0"}),
            content_type="application/json",
        )
        huge = await post_offer(client, consenting_citizen, "v=0\r\n" + "a" * 40_000)
        assert [garbage.status_code, answer.status_code, huge.status_code] == [400, 400, 400]
        assert echo.backend().count() == 0

    async_to_sync(scenario)()


def test_beyond_the_limit_a_second_citizen_is_asked_to_try_again_in_a_moment(
    echo_backend, settings, booking, consenting_citizen, emil
):
    settings.TEST_CALL_LIMIT = 1

    async def scenario():
        dana_client, emil_client = await open_link(booking), await open_link(emil)
        dana_pc, emil_pc = await offer_from_a_browser(), await offer_from_a_browser()
        try:
            first = await post_offer(dana_client, consenting_citizen, dana_pc.localDescription.sdp)
            busy = await post_offer(emil_client, emil.citizen, emil_pc.localDescription.sdp)
            # Dana trying again replaces her own test call rather than taking a second place.
            again = await post_offer(dana_client, consenting_citizen, dana_pc.localDescription.sdp)
            assert (first.status_code, busy.status_code, again.status_code) == (200, 503, 200)
            assert busy["Retry-After"] == "10"
            assert "try again in a moment" in busy.json()["error"]
            assert echo.backend().count() == 1
        finally:
            await dana_pc.close()
            await emil_pc.close()
            await echo.backend().close_all()

    async_to_sync(scenario)()


def test_the_server_ends_a_test_call_after_its_maximum_duration(
    echo_backend, settings, booking, consenting_citizen
):
    settings.TEST_CALL_SECONDS = 0.2

    async def scenario():
        client = await open_link(booking)
        pc = await offer_from_a_browser()
        try:
            response = await post_offer(client, consenting_citizen, pc.localDescription.sdp)
            assert response.status_code == 200
            assert echo.backend().count() == 1
            for _ in range(50):
                if echo.backend().count() == 0:
                    break
                await asyncio.sleep(0.05)
            assert echo.backend().count() == 0
        finally:
            await pc.close()
            await echo.backend().close_all()

    async_to_sync(scenario)()


def test_janus_keeps_one_session_per_test_call_and_none_after_it(
    janus_echo, booking, consenting_citizen, caplog, settings
):
    janus = janus_echo
    caplog.set_level(logging.DEBUG)

    async def scenario():
        client = await open_link(booking)
        pc = await offer_from_a_browser()
        before = janus.sessions()
        try:
            response = await post_offer(client, consenting_citizen, pc.localDescription.sdp)
            assert response.status_code == 200
            assert janus.sessions() == before + 1
            stopped = await client.post(url("echo_stop", consenting_citizen))
            assert stopped.status_code == 204
            # Janus answers the destroy at once and frees the session in its own loop.
            for _ in range(50):
                if janus.sessions() == before:
                    break
                await asyncio.sleep(0.1)
            assert janus.sessions() == before
            # Its long poll carries the API secret in the address: no log line names it.
            assert settings.JANUS_API_SECRET and settings.JANUS_API_SECRET not in caplog.text
        finally:
            await pc.close()
            await echo.backend().close_all()

    async_to_sync(scenario)()


def test_when_the_browser_goes_away_janus_hangs_up_and_the_place_is_freed(
    janus_echo, booking, consenting_citizen
):
    async def scenario():
        client = await open_link(booking)
        pc = await offer_from_a_browser()
        connected = asyncio.get_running_loop().create_future()
        pc.on(
            "connectionstatechange",
            lambda: (
                pc.connectionState == "connected"
                and not connected.done()
                and connected.set_result(True)
            ),
        )
        try:
            response = await post_offer(client, consenting_citizen, pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(response.json()["sdp"], "answer"))
            await asyncio.wait_for(connected, 10)
            await pc.close()  # the tab closes without saying goodbye to our server
            for _ in range(100):
                if echo.backend().count() == 0:
                    break
                await asyncio.sleep(0.1)
            assert echo.backend().count() == 0
        finally:
            await pc.close()
            await echo.backend().close_all()

    async_to_sync(scenario)()


@pytest.mark.parametrize("fault", ["Janus is down", "a wrong API secret"])
def test_without_a_working_janus_dana_is_told_the_test_call_is_unavailable(
    fault, settings, janus_echo, booking, consenting_citizen
):
    if fault == "Janus is down":
        settings.JANUS_URL = f"http://127.0.0.1:{free_tcp_port()}/janus"
    else:
        settings.JANUS_API_SECRET = "guessed"

    async def scenario():
        client = await open_link(booking)
        pc = await offer_from_a_browser()
        try:
            response = await post_offer(client, consenting_citizen, pc.localDescription.sdp)
        finally:
            await pc.close()
        assert response.status_code == 503
        # In her appointment's language, German, and telling her she can go on.
        assert "Testanruf" in response.json()["error"]
        assert "fortfahren" in response.json()["error"]
        assert echo.backend().count() == 0

    async_to_sync(scenario)()


def test_an_unknown_echo_backend_refuses_to_start(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **os.environ,
            "VIDEOTERMIN_VAR": str(tmp_path),
            "VIDEOTERMIN_ECHO_BACKEND": "mediasoup",
            "DJANGO_SETTINGS_MODULE": "videotermin.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "VIDEOTERMIN_ECHO_BACKEND" in result.stderr


def test_a_ping_is_empty_and_never_cached(client, dana):
    response = client.get(url("ping", dana))
    assert response.status_code == 204
    assert "no-store" in response["Cache-Control"]


def test_the_download_is_the_asked_size_of_incompressible_bytes(client, dana):
    response = client.get(url("download", dana, bytes=256 * 1024), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "application/octet-stream"
    assert response.get("Content-Encoding") is None  # random bytes do not shrink
    assert len(response.content) == 256 * 1024
    assert len(set(response.content[:4096])) > 200  # not a run of zeros


def test_the_download_refuses_sizes_it_does_not_offer(client, dana):
    too_big = client.get(url("download", dana, bytes=64 * 1024 * 1024))
    nonsense = client.get(url("download", dana, bytes="lots"))
    assert (too_big.status_code, nonsense.status_code) == (400, 400)


def test_the_upload_counts_the_bytes_and_keeps_nothing(client, dana):
    payload = bytes(range(256)) * 1024
    response = client.post(url("upload", dana), payload, content_type="application/octet-stream")
    assert response.status_code == 200
    assert response.json() == {"bytes": len(payload)}
    assert "no-store" in response["Cache-Control"]


def test_a_link_holder_cannot_draw_more_measurement_payloads_than_a_few_checks_need(
    client, settings, dana, emil
):
    settings.NETWORK_PROBE_LIMIT = 3
    upload = bytes(4096)
    allowed = [
        client.get(url("download", dana, bytes=4096)).status_code,
        client.post(
            url("upload", dana), upload, content_type="application/octet-stream"
        ).status_code,
        client.get(url("download", dana, bytes=4096)).status_code,
    ]
    refused = client.get(url("download", dana, bytes=4096))
    refused_upload = client.post(
        url("upload", dana), upload, content_type="application/octet-stream"
    )

    assert allowed == [200, 200, 200]
    assert (refused.status_code, refused_upload.status_code) == (429, 429)
    assert refused["Retry-After"] == "600"
    # In her appointment's language, German.
    assert "Zu viele Messungen" in refused.json()["error"]
    # The round trip needs no payload and stays open; Emil has his own allowance.
    assert client.get(url("ping", dana)).status_code == 204
    emil_browser = Client()
    emil_browser.get(reverse("journey:link", args=[emil.token]))
    assert emil_browser.get(url("download", emil.citizen, bytes=4096)).status_code == 200


def test_the_network_endpoints_refuse_a_browser_that_never_opened_the_link(client, citizen):
    assert client.get(url("ping", citizen)).status_code == 403
    assert client.get(url("download", citizen, bytes=4096)).status_code == 403
    upload = client.post(
        url("upload", citizen), b"x" * 4096, content_type="application/octet-stream"
    )
    assert upload.status_code == 403


@pytest.fixture
def olga(interpreter_booking):
    """Olga's browser: she opened her own link and agreed, in English."""
    member, token = interpreter_booking.extras[0]
    browser = Client()
    browser.get(reverse("journey:link", args=[token]))
    consent.decide(member, consent.current_text(member.appointment.agency, "en"), accepted=True)
    return member, browser


def test_olga_measures_with_an_allowance_of_her_own(settings, olga, interpreter_booking):
    settings.NETWORK_PROBE_LIMIT = 1
    member, browser = olga
    dana_browser = Client()
    dana_browser.get(reverse("journey:link", args=[interpreter_booking.token]))
    consent.decide(
        interpreter_booking.citizen,
        consent.current_text(member.appointment.agency, "de"),
        accepted=True,
    )
    assert (
        dana_browser.get(url("download", interpreter_booking.citizen, bytes=4096)).status_code
        == 200
    )
    assert browser.get(url("download", member, bytes=4096)).status_code == 200
    refused = browser.get(url("download", member, bytes=4096))
    assert refused.status_code == 429
    assert "Too many measurements" in refused.json()["error"]  # in her language, English


def test_olgas_browser_cannot_measure_for_dana(olga, interpreter_booking):
    _member, browser = olga
    assert browser.get(url("ping", interpreter_booking.citizen)).status_code == 403


def test_a_removed_participant_can_no_longer_measure(olga, counselor):
    member, browser = olga
    assert browser.get(url("ping", member)).status_code == 204
    appointments.remove_member(member, by=counselor)
    refused = browser.get(url("ping", member))
    assert refused.status_code == 403
    assert "personal link" in refused.json()["error"]
    assert browser.get(url("download", member, bytes=4096)).status_code == 403


def test_the_network_endpoints_close_when_the_appointment_is_cancelled(client, dana, counselor):
    appointments.cancel_appointment(dana.appointment, by=counselor)
    assert client.get(url("ping", dana)).status_code == 403


def test_the_network_endpoints_refuse_charlie_of_another_agency(client, outsider, citizen):
    client.force_login(outsider)
    assert client.get(url("ping", citizen)).status_code == 403


def test_alice_sees_danas_network_numbers_in_the_day_view(counselor, consenting_citizen):
    update_status(
        consenting_citizen,
        check={
            "result": "green",
            "details": {"rtt_ms": 42, "down_kbps": 5230, "up_kbps": 980, "loss_pct": 0.5},
        },
    )
    with override("en"):
        summary = describe(str(consenting_citizen.appointment.public_id), counselor)
    assert summary["citizen"]["network"] == (
        "42 ms round trip, 5.2 Mbit/s down, 1.0 Mbit/s up, 0.5 % lost"
    )


def test_a_check_without_network_numbers_gives_no_network_text(consenting_citizen):
    assert network_summary({"camera": True, "rtt_ms": True}) == ""
    assert network_summary(None) == ""


def test_the_network_text_writes_numbers_as_the_counselors_language_does(
    consenting_citizen, counselor
):
    update_status(
        consenting_citizen,
        check={"result": "green", "details": {"rtt_ms": 42, "down_kbps": 5230, "loss_pct": 0.5}},
    )
    with override("de"):
        summary = describe(str(consenting_citizen.appointment.public_id), counselor)
    assert "5,2 Mbit/s" in summary["citizen"]["network"]
    assert "0,5 %" in summary["citizen"]["network"]
