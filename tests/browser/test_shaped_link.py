"""A call over a poor mobile link: about 400 kbit/s with 2 % loss, between network namespaces.

Dana's browser runs in a test host of its own; everything it exchanges with Alice's crosses the
shaped veth link. The call must stay up with audio flowing while video steps down.
"""

import re
import time

import pytest
from django.utils import translation
from django.utils.translation import gettext
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server, wait_for_media
from tests.browser.netns import LinkedHost
from tests.browser.room import admit, open_member_room, open_staff_room

pytestmark = pytest.mark.browser

OUTBOUND_VIDEO = """async () => {
    const result = {bytesSent: 0, frameWidth: 0, limitation: 'none', state: 'none'};
    for (const peer of window.videoterminPeers.values()) {
        result.state = peer.pc.connectionState;
        (await peer.pc.getStats()).forEach((report) => {
            if (report.type === 'outbound-rtp' && report.kind === 'video' && report.frameWidth) {
                result.bytesSent += report.bytesSent;
                result.frameWidth = report.frameWidth;
                result.limitation = report.qualityLimitationReason;
            }
        });
    }
    return result;
}"""

# The ICE username fragment of the page's side: a restart of ICE picks a new one.
LOCAL_UFRAG = """() => {
    const [peer] = window.videoterminPeers.values();
    return /a=ice-ufrag:(\\S+)/.exec(peer.pc.localDescription.sdp)[1];
}"""

INBOUND_FRAMES = """async () => {
    let frames = 0;
    for (const peer of window.videoterminPeers.values()) {
        (await peer.pc.getStats()).forEach((report) => {
            if (report.type === 'inbound-rtp' && report.kind === 'video') {
                frames += report.framesDecoded;
            }
        });
    }
    return frames;
}"""

AUDIO_RECEIVED = """async () => {
    let packets = 0;
    for (const peer of window.videoterminPeers.values()) {
        (await peer.pc.getStats()).forEach((report) => {
            if (report.type === 'inbound-rtp' && report.kind === 'audio') {
                packets += report.packetsReceived;
            }
        });
    }
    return packets;
}"""


@pytest.fixture
def test_host():
    with LinkedHost() as host:
        yield host


@pytest.fixture
def link_server(transactional_db, settings, test_host):
    """The application listening on this host's end of the link only."""
    server = Server(host=test_host.host_address)
    # Its pages' origin is not SITE_URL's: the WebSocket origin check must know it too.
    settings.WEBSOCKET_ALLOWED_ORIGINS = [*settings.WEBSOCKET_ALLOWED_ORIGINS, server.url]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, test_host.host_address]
    server.start()
    yield server
    server.stop()


@pytest.fixture
def browsers(browser, link_server, test_host):
    """Dana's Chromium inside the test host, Alice's on this host."""
    # The link's address is not "potentially trustworthy" as 127.0.0.1 is: camera and
    # microphone need a secure context, which this flag grants to the test server only.
    secure = f"--unsafely-treat-insecure-origin-as-secure={link_server.url}"
    launch = browser.browser_type.launch
    citizen = launch(
        executable_path=test_host.wrap(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, secure]
    )
    counselor = launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, secure])
    yield citizen, counselor
    citizen.close()
    counselor.close()


def rate_kbps(page, script: str, seconds: float = 4.0) -> float:
    before = page.evaluate(script)["bytesSent"]
    time.sleep(seconds)
    return (page.evaluate(script)["bytesSent"] - before) * 8 / 1000 / seconds


def context_of(browser, server):
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(30_000)
    return context


@pytest.fixture
def call_across_the_link(browsers, link_server, consented):
    """Dana behind the link and Alice on this host, in a running call."""
    citizen_browser, counselor_browser = browsers
    citizen = open_member_room(
        context_of(citizen_browser, link_server), consented.token, consented.citizen
    )
    counselor = open_staff_room(context_of(counselor_browser, link_server), consented.appointment)
    admit(counselor, consented.citizen, citizen)
    wait_for_media(citizen, timeout=60)
    wait_for_media(counselor, timeout=60)
    return citizen, counselor


def test_a_call_over_a_poor_mobile_link_stays_up_with_audio_while_video_steps_down(
    call_across_the_link, test_host
):
    citizen, counselor = call_across_the_link
    unshaped = rate_kbps(citizen, OUTBOUND_VIDEO)

    test_host.shape(rate="400kbit", loss_percent=2)
    # Our own step-down: after a few poor samples Dana's page sends in data saver.
    # (The line is in the settings panel, which is closed: what counts is what it says.)
    sent = citizen.locator("#quality-sent").filter(has_text=re.compile(".+"))
    sent.wait_for(state="attached", timeout=40_000)

    audio_before = (citizen.evaluate(AUDIO_RECEIVED), counselor.evaluate(AUDIO_RECEIVED))
    shaped = rate_kbps(citizen, OUTBOUND_VIDEO)
    audio_after = (citizen.evaluate(AUDIO_RECEIVED), counselor.evaluate(AUDIO_RECEIVED))
    video = citizen.evaluate(OUTBOUND_VIDEO)

    assert video["state"] == "connected"
    assert audio_after[0] - audio_before[0] > 50, "Dana hears Alice"
    assert audio_after[1] - audio_before[1] > 50, "Alice hears Dana"
    assert shaped < 400 <= unshaped or shaped < unshaped / 2, (unshaped, shaped)
    assert video["frameWidth"] <= 320, video  # data saver: at most 320x240
    # A screen reader says so, in Dana's language.
    with translation.override(citizen.evaluate("document.documentElement.lang")):
        weak = gettext("The connection is weak. Switched to: {mode}.").split("{mode}")[0]
    assert citizen.locator("#quality-announce").inner_text().startswith(weak)


def test_a_call_survives_a_short_outage_of_the_network_by_restarting_ice(
    call_across_the_link, test_host
):
    citizen, counselor = call_across_the_link
    ufrag = counselor.evaluate(LOCAL_UFRAG)

    test_host.cut()
    # While the link is down, Alice's page gives up waiting and restarts ICE (the side that set
    # up the sections first, the other after a few more seconds).
    counselor.wait_for_function(f"ufrag => ({LOCAL_UFRAG})() !== ufrag", arg=ufrag, timeout=30_000)
    test_host.restore()

    counselor.wait_for_function(
        "() => [...window.videoterminPeers.values()]"
        ".every(p => p.pc.connectionState === 'connected')",
        timeout=30_000,
    )
    frames = citizen.evaluate(INBOUND_FRAMES)
    citizen.wait_for_function(f"async () => (await ({INBOUND_FRAMES})()) > {frames}")
    assert counselor.evaluate("window.videoterminPeers.size") == 1
