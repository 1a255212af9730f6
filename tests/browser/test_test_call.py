"""The device check's test call through the server and its network check, in a real browser (J7)."""

import re
import time

import pytest
from django.urls import reverse
from django.utils.translation import gettext, override
from tests.browser.conftest import log_in, wait_until
from tests.browser.room import member_row, open_panel, person

from videotermin.checks import echo

pytestmark = pytest.mark.browser

# Inbound media of the check page's test call: what came back from the server.
ECHO_STATS = """async () => {
    const call = window.videoterminTestCall;
    return call ? await call.stats() : null;
}"""


def details(booking) -> dict:
    return member_row(booking.citizen).check_details


def open_check(context, booking):
    page = context.new_page()
    page.goto(f"/j/{booking.token}/")
    page.goto(reverse("journey:check", args=[booking.citizen.public_id]))
    return page


def echoed_media(page, timeout: float = 15) -> dict:
    """Wait until Dana's page decodes her own echoed video and receives her echoed sound."""
    deadline = time.monotonic() + timeout
    while True:
        stats = page.evaluate(ECHO_STATS)
        if stats and stats["framesDecoded"] > 0 and stats["packetsReceived"] > 0:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing came back from the server: {stats}")
        page.wait_for_timeout(250)


def test_dana_sees_and_hears_herself_through_the_server_and_alice_sees_her_network(
    echo_backend, new_context, consented, appointment
):
    dana = open_check(new_context(), consented)

    # The network check runs by itself and shows a positive round trip.
    rtt_text = dana.locator("#net-rtt")
    rtt_text.filter(has_text=re.compile(r"\d")).wait_for()
    shown_rtt = int(re.search(r"\d+", rtt_text.inner_text()).group())
    assert shown_rtt > 0
    assert re.search(r"\d", dana.locator("#net-down").inner_text())
    stored = wait_until(lambda: (d := details(consented)).get("rtt_ms") and d, message="stored")
    assert stored["rtt_ms"] == shown_rtt
    assert stored["down_kbps"] > 0 and stored["up_kbps"] > 0
    assert stored["test_call"] is False

    # The test call: her own camera and microphone go to the server and come back.
    dana.locator("#test-call").click()
    stats = echoed_media(dana)
    assert stats["framesDecoded"] > 0 and stats["packetsReceived"] > 0
    assert dana.locator("#echo").is_visible()
    assert echo.backend().count() == 1
    stored = wait_until(lambda: (d := details(consented)).get("test_call") and d, message="call")
    assert isinstance(stored["loss_pct"], int | float) and stored["loss_pct"] < 3

    # Hanging up ends the echo on the server too.
    dana.locator("#test-call").click()
    wait_until(lambda: echo.backend().count() == 0, message="the echo to end")

    # Alice sees the numbers in the day view and at Dana's entry in the room's waiting list.
    alice = new_context(locale="en-GB").new_page()
    log_in(alice)
    row = alice.locator(f"tr[data-appointment='{appointment.public_id}']")
    assert (
        f"{stored['rtt_ms']} ms round trip"
        in row.locator("[data-field=device-details]").inner_text()
    )
    dana.goto(reverse("journey:room", args=[consented.citizen.public_id]))
    alice.goto(reverse("staff:room", args=[appointment.public_id]))
    open_panel(alice, "people")
    network = person(alice, consented.citizen).locator(".network")
    network.filter(has_text="ms round trip").wait_for()
    assert f"{stored['rtt_ms']} ms round trip" in network.inner_text()
    assert "Mbit/s down" in network.inner_text()


def test_a_test_call_beyond_the_limit_asks_dana_to_try_again_in_a_moment(
    new_context, consented, settings
):
    settings.TEST_CALL_LIMIT = 0
    dana = open_check(new_context(), consented)
    with override(consented.citizen.language):
        busy = gettext("Many people are testing right now. Please try again in a moment.")
    dana.locator("#test-call").click()
    dana.locator("#test-call-state").filter(has_text=busy).wait_for()
    assert echo.backend().count() == 0
    assert dana.locator("#echo").is_hidden()
