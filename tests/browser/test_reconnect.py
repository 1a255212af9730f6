"""Calls that recover by themselves: a dropped signaling connection, a counselor who reloads."""

import pytest
from tests.browser.conftest import wait_for_media, wait_until
from tests.browser.test_call import (
    admit_and_connect,
    citizen_row,
    open_citizen_room,
    open_counselor_room,
)

pytestmark = pytest.mark.browser

# Keep a handle on every WebSocket the page opens, so a test can cut one like a network would.
RECORD_SOCKETS = """
window.__sockets = [];
const Original = window.WebSocket;
window.WebSocket = class extends Original {
    constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""


def test_a_dropped_signaling_connection_comes_back_and_the_call_with_it(
    new_context, consented, appointment
):
    context = new_context()
    context.add_init_script(RECORD_SOCKETS)
    citizen = open_citizen_room(context, consented)
    counselor = open_counselor_room(new_context(), appointment)
    admit_and_connect(counselor, citizen)
    before = citizen_row(consented).session

    citizen.evaluate("window.__sockets.at(-1).close(4000, 'network gone')")

    after = wait_until(
        lambda: (
            (s := citizen_row(consented)).session != before
            and s.presence == "in_call"
            and s.session
        ),
        message="the citizen's page back in the call with a new connection",
    )
    assert citizen.evaluate("window.__sockets.length") == 2
    counselor.wait_for_function("s => window.videoterminPeers.has(s)", arg=after)
    assert wait_for_media(citizen)["framesDecoded"] > 0
    assert wait_for_media(counselor)["framesDecoded"] > 0


def test_a_counselor_who_reloads_gets_the_call_back(new_context, consented, appointment):
    citizen = open_citizen_room(new_context(), consented)
    counselor = open_counselor_room(new_context(), appointment)
    admit_and_connect(counselor, citizen)
    peers_before = citizen.evaluate("[...window.videoterminPeers.keys()]")

    counselor.reload()

    citizen.wait_for_function(
        "old => window.videoterminPeers.size === 1 && !window.videoterminPeers.has(old[0])",
        arg=peers_before,
    )
    assert counselor.locator("#call").is_visible()
    citizen_stats = wait_for_media(citizen)
    counselor_stats = wait_for_media(counselor)
    assert citizen_stats["framesDecoded"] > 0 and citizen_stats["packetsReceived"] > 0
    assert counselor_stats["framesDecoded"] > 0 and counselor_stats["packetsReceived"] > 0
