"""Alice checks her own camera, microphone and connection from the workspace, with a test call
through the server (S4)."""

import re
import time

import pytest
from django.urls import reverse
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

ECHO_STATS = """async () => {
    const call = window.videoterminTestCall;
    return call ? await call.stats() : null;
}"""


def echoed(page, timeout: float = 20) -> dict:
    """What came back from the server's echo, once video and sound have."""
    deadline = time.monotonic() + timeout
    while True:
        stats = page.evaluate(ECHO_STATS)
        if stats and stats["framesDecoded"] > 0 and stats["packetsReceived"] > 0:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing came back from the server: {stats}")
        page.wait_for_timeout(250)


def test_alice_sees_and_hears_herself_through_the_server_from_her_own_check(
    echo_backend, new_context, counselor
):
    alice = new_context(locale="en-GB").new_page()
    log_in(alice)
    alice.get_by_role("link", name="Check my devices").click()
    alice.wait_for_url(f"**{reverse('staff:check')}")

    alice.locator("#net-rtt").filter(has_text=re.compile(r"\d")).wait_for()
    alice.locator("#result").wait_for()
    alice.locator("#test-call").click()

    stats = echoed(alice)
    assert stats["framesDecoded"] > 0 and stats["packetsReceived"] > 0
    assert "could not be sent" not in alice.locator("#check-status").inner_text()
