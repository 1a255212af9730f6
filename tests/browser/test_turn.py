"""Relay-only calls through a real coturn: the agency hides the participants' IP addresses.
Alice hosts; Dana, the citizen, and in the first test Olga, her interpreter, join in browsers of
their own, and every pair of them is relayed."""

import json
import time

import pytest
from tests.browser.conftest import media_stats, wait_for_media
from tests.browser.room import admit, meet, open_member_room, open_staff_room
from tests.personas import agree, interpreter_invitee
from tests.turnserver import TurnServer

from videotermin.calls import ice

# Calls of three to five people, each in a browser of their own, on two shared cores.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

SECRET = "a-secret-only-coturn-and-videotermin-share"

# Records every TURN error the browser meets (a 401 is coturn refusing the credentials).
RECORD_ICE_ERRORS = """
window.iceErrors = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(config) {
        super(config);
        this.addEventListener('icecandidateerror',
            (event) => window.iceErrors.push({code: event.errorCode, url: event.url}));
    }
};
"""

# For each peer: its policy, connection state, and the candidates of the selected pair.
SELECTED_PAIRS = """async () => {
    const result = [];
    for (const peer of window.videoterminPeers.values()) {
        const stats = await peer.pc.getStats();
        const byId = new Map();
        stats.forEach((report) => byId.set(report.id, report));
        let pair = null;
        stats.forEach((report) => {
            if (report.type === 'transport' && report.selectedCandidatePairId) {
                pair = byId.get(report.selectedCandidatePairId);
            }
        });
        if (!pair) {
            stats.forEach((report) => {
                if (report.type === 'candidate-pair' && report.nominated
                        && report.state === 'succeeded') pair = report;
            });
        }
        const local = pair && byId.get(pair.localCandidateId);
        const remote = pair && byId.get(pair.remoteCandidateId);
        result.push({
            policy: peer.pc.getConfiguration().iceTransportPolicy,
            state: peer.pc.connectionState,
            local: local ? {type: local.candidateType, port: local.port} : null,
            remote: remote ? {type: remote.candidateType, port: remote.port} : null,
        });
    }
    return result;
}"""

LOCAL_CANDIDATES = """async () => {
    let count = 0;
    for (const peer of window.videoterminPeers.values()) {
        (await peer.pc.getStats()).forEach((r) => { if (r.type === 'local-candidate') count++; });
    }
    return count;
}"""


@pytest.fixture
def coturn(settings):
    """A real coturn checking TURN REST credentials; videotermin hands out its addresses."""
    with TurnServer(SECRET) as server:
        settings.TURN_URLS = server.urls
        settings.TURN_SECRET = SECRET
        settings.STUN_URLS = []
        yield server


@pytest.fixture
def relay_only(agency):
    agency.relay_only = True
    agency.save()
    return agency


def recording(new_context):
    """A factory of browser contexts whose pages record TURN errors."""

    def make():
        context = new_context()
        context.add_init_script(RECORD_ICE_ERRORS)
        return context

    return make


def relay_call(new_context, booking):
    """Dana waits, Alice opens the room and admits her; both pages record TURN errors."""
    make = recording(new_context)
    citizen = open_member_room(make(), booking.token, booking.citizen)
    counselor = open_staff_room(make(), booking.appointment)
    admit(counselor, booking.citizen, citizen)
    return citizen, counselor


def selected_pairs(page) -> list[dict]:
    return page.evaluate(SELECTED_PAIRS)


def test_a_relay_only_call_of_three_flows_through_coturn_on_every_pair_both_ways(
    new_context, coturn, relay_only, book
):
    booking = book(extras=[interpreter_invitee()])
    dana, olga = agree(booking.citizen), agree(booking.extras[0][0])

    pages = meet(
        recording(new_context),
        booking.appointment,
        (booking.token, dana),
        (booking.extras[0][1], olga),
    )

    relay_ports = range(coturn.min_port, coturn.max_port + 1)
    for page in pages:
        stats = wait_for_media(page, peers=2)
        assert all(
            p["framesDecoded"] > 0 and p["packetsReceived"] > 0 for p in stats["bySession"].values()
        )
        pairs = selected_pairs(page)
        assert len(pairs) == 2
        for pair in pairs:
            assert pair["policy"] == "relay"
            assert pair["local"]["type"] == "relay" and pair["remote"]["type"] == "relay", pair
            # Both ends of the pair are addresses that our coturn allocated.
            assert pair["local"]["port"] in relay_ports and pair["remote"]["port"] in relay_ports
        assert page.evaluate("() => window.iceErrors.filter((e) => e.code === 401).length") == 0


def test_a_wrong_turn_secret_makes_the_relay_only_call_fail_to_connect(
    new_context, coturn, relay_only, consented, settings
):
    settings.TURN_SECRET = "not-the-secret-coturn-knows"

    citizen, counselor = relay_call(new_context, consented)

    for page in (citizen, counselor):
        # coturn answers each allocation with 401 Unauthorized: it checks the credentials.
        page.wait_for_function(
            "() => window.iceErrors.some((e) => e.code === 401)", polling=100, timeout=30_000
        )
        page.wait_for_function(
            "() => window.videoterminPeers.size > 0 && [...window.videoterminPeers.values()]"
            ".every((p) => p.pc.iceGatheringState === 'complete')",
            polling=100,
            timeout=30_000,
        )
    # Gathering is over on both sides without a single candidate: nothing can ever connect.
    for page in (citizen, counselor):
        assert page.evaluate(LOCAL_CANDIDATES) == 0
        [pair] = selected_pairs(page)
        assert pair["state"] in ("new", "failed") and pair["local"] is None, pair
        assert media_stats(page)["framesDecoded"] == 0


def test_pages_whose_turn_credentials_expired_connect_with_the_fresh_ones_of_joined(
    new_context, coturn, relay_only, consented
):
    # Credentials that expired an hour ago, as on a page left open all morning.
    username, credential = ice.turn_credentials(
        "left-open", secret=SECRET, ttl=3600, now=time.time() - 7200
    )
    expired = [{"urls": coturn.urls, "username": username, "credential": credential}]
    citizen_context, counselor_context = new_context(), new_context()
    for context in (citizen_context, counselor_context):
        # The rendered page holds only the expired credentials when its script starts.
        context.add_init_script(
            "document.addEventListener('readystatechange', () => {"
            " const room = document.getElementById('room');"
            f" if (room) room.dataset.iceServers = {json.dumps(json.dumps(expired))}; }});"
        )
    citizen = open_member_room(citizen_context, consented.token, consented.citizen)
    counselor = open_staff_room(counselor_context, consented.appointment)
    assert json.loads(counselor.locator("#room").get_attribute("data-ice-servers")) == expired
    admit(counselor, consented.citizen, citizen)

    citizen_stats, counselor_stats = wait_for_media(citizen), wait_for_media(counselor)

    assert citizen_stats["framesDecoded"] > 0 and counselor_stats["framesDecoded"] > 0
    for page in (citizen, counselor):
        [pair] = selected_pairs(page)
        assert pair["local"]["type"] == "relay" and pair["remote"]["type"] == "relay", pair


PEER_USERNAMES = """() => [...window.videoterminPeers.values()]
    .map((peer) => peer.pc.getConfiguration().iceServers[0].username)"""

# The ICE username fragment of the page's current local description: new after an ICE restart.
LOCAL_UFRAG = """() => {
    const [peer] = window.videoterminPeers.values();
    return /a=ice-ufrag:(\\S+)/.exec(peer.pc.localDescription.sdp)[1];
}"""


def test_a_long_relay_call_renews_its_relays_with_fresh_credentials_and_keeps_flowing(
    new_context, coturn, relay_only, consented, settings
):
    # Credentials for a minute: the pages ask again after 20 s, as they would after 20 minutes
    # with the default hour, and the call must outlive the first credentials.
    settings.TURN_TTL_SECONDS = 60
    citizen, counselor = relay_call(new_context, consented)
    wait_for_media(citizen), wait_for_media(counselor)
    pages = (citizen, counselor)
    first_users = {page: page.evaluate(PEER_USERNAMES)[0] for page in pages}
    first_ufrags = {page: page.evaluate(LOCAL_UFRAG) for page in pages}

    # Both pages take fresh credentials for their running peer ...
    for page in pages:
        page.wait_for_function(
            f"() => ({PEER_USERNAMES})()[0] !== {json.dumps(first_users[page])}",
            timeout=40_000,
            polling=500,
        )
        expiry = int(page.evaluate(PEER_USERNAMES)[0].split(":")[0])
        assert expiry > int(first_users[page].split(":")[0])
    # ... and the side that offers restarts ICE, so that both allocate new relays with them.
    for page in pages:
        page.wait_for_function(
            f"() => ({LOCAL_UFRAG})() !== {json.dumps(first_ufrags[page])}",
            timeout=15_000,
            polling=250,
        )
    frames_after_restart = media_stats(citizen)["framesDecoded"]

    # Video still arrives, relayed on both sides, and coturn never refused a credential.
    deadline = time.monotonic() + 10
    while media_stats(citizen)["framesDecoded"] <= frames_after_restart + 30:
        assert time.monotonic() < deadline, "no video after the relays were renewed"
        citizen.wait_for_timeout(250)
    for page in pages:
        [pair] = selected_pairs(page)
        assert pair["local"]["type"] == "relay" and pair["remote"]["type"] == "relay", pair
        assert page.evaluate("() => window.iceErrors.filter((e) => e.code === 401).length") == 0
