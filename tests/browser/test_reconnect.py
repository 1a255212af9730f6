"""Calls that recover by themselves, with Alice, Dana and Olga in real browsers: a dropped
signaling connection comes back and media with it on every pair; the host reloads and gets the
call back."""

import pytest
from tests.browser.conftest import wait_for_media, wait_until
from tests.browser.room import in_call, meet, member_row, peers_of, session_of
from tests.personas import agree, interpreter_invitee

# Calls of three to five people, each in a browser of their own, on two shared cores.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

# Keep a handle on every WebSocket the page opens, so a test can cut one like a network would.
RECORD_SOCKETS = """
window.__sockets = [];
const Original = window.WebSocket;
window.WebSocket = class extends Original {
    constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""

# Mark the page's peer connections as they are now; a new one comes without the mark.
MARK_PEERS = "() => { for (const peer of window.videoterminPeers.values()) peer.before = true; }"
NEW_PEERS = """(count) => window.videoterminPeers.size === count
    && [...window.videoterminPeers.values()].every((peer) => !peer.before)"""


@pytest.fixture
def invited(book):
    return book(extras=[interpreter_invitee()])


@pytest.fixture
def dana(invited):
    return agree(invited.citizen)


@pytest.fixture
def olga(invited):
    return agree(invited.extras[0][0])


@pytest.fixture
def three(new_context, invited, dana, olga):
    """Alice, Dana (whose page keeps its sockets at hand) and Olga, media on every pair."""

    def contexts():
        yield new_context()
        recorded = new_context()
        recorded.add_init_script(RECORD_SOCKETS)
        yield recorded
        yield new_context()

    made = contexts()
    return meet(
        lambda: next(made),
        invited.appointment,
        (invited.token, dana),
        (invited.extras[0][1], olga),
    )


def alice_session(page) -> str:
    """The page's own connection, as the room told it."""
    return page.evaluate("() => window.videoterminRoom.session")


# Every 100 ms, the frames decoded from each peer; the longest time without a new frame.
WATCH_FRAMES = """() => {
    window.__frames = {};
    window.__watch = setInterval(async () => {
        for (const peer of window.videoterminPeers.values()) {
            let frames = 0;
            (await peer.pc.getStats()).forEach((report) => {
                if (report.type === 'inbound-rtp' && report.kind === 'video') {
                    frames += report.framesDecoded || 0;
                }
            });
            const now = performance.now();
            const seen = window.__frames[peer.member] ??= {frames, at: now, longestGap: 0};
            if (frames > seen.frames) {
                seen.longestGap = Math.max(seen.longestGap, now - seen.at);
                Object.assign(seen, {frames, at: now});
            }
        }
    }, 100);
}"""
LONGEST_GAPS = """() => Object.fromEntries(Object.entries(window.__frames).map(
    ([member, seen]) => [member, Math.max(seen.longestGap, performance.now() - seen.at)]))"""


def test_a_dropped_signaling_connection_comes_back_under_its_session_and_no_frame_stops(
    three, dana, olga
):
    alice, citizen, interpreter = three
    before = session_of(dana)
    for page in three:
        page.evaluate(MARK_PEERS)
        page.evaluate(WATCH_FRAMES)
    citizen.wait_for_timeout(1000)

    citizen.evaluate("window.__sockets.at(-1).close(4000, 'network gone')")

    wait_until(
        lambda: (
            citizen.evaluate("window.__sockets.length") == 2
            and (m := member_row(dana)).presence == "in_call"
            and m.channel
        ),
        timeout=30,
        message="Dana's page back in the call through a new socket",
    )
    # Back under the same session: nobody made new peer connections, the old ones carried on.
    assert member_row(dana).session == before
    in_call(citizen)
    citizen.wait_for_timeout(2000)
    for page in three:
        assert page.evaluate("window.videoterminPeers.size") == 2
        assert page.evaluate("[...window.videoterminPeers.values()].every((p) => p.before)")
        gaps = page.evaluate(LONGEST_GAPS)
        assert len(gaps) == 2 and max(gaps.values()) < 1000, gaps
    assert sorted(peers_of(citizen)) == sorted([session_of(olga), alice_session(alice)])


def test_the_host_who_reloads_gets_the_call_back_with_media_on_every_pair(three, invited):
    alice, citizen, interpreter = three
    old = alice_session(alice)

    alice.reload()

    in_call(alice)
    new = alice.wait_for_function(
        "old => window.videoterminRoom.session !== old && window.videoterminRoom.session",
        arg=old,
        timeout=30_000,
    ).json_value()
    for page in (citizen, interpreter):
        page.wait_for_function(
            "([old, now]) => window.videoterminPeers.size === 2"
            " && !window.videoterminPeers.has(old) && window.videoterminPeers.has(now)",
            arg=[old, new],
            timeout=30_000,
        )
    for page in three:
        stats = wait_for_media(page, peers=2, timeout=60)
        assert stats["framesDecoded"] > 0 and stats["packetsReceived"] > 0
    assert alice.locator("#stage").is_visible()
    host = invited.appointment.members.get(role="host")
    assert member_row(host).presence == "in_call"
