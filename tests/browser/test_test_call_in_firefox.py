"""The device check's test call with Firefox as the citizen's browser (N5, J7).

Firefox masks its host addresses as random .local names, as it does for every real user; the
server's peer must reach her all the same.
"""

import pytest
from django.urls import reverse
from django.utils.translation import gettext, override
from tests.browser.conftest import wait_until

from videotermin.appointments.models import Member
from videotermin.checks import echo

pytestmark = pytest.mark.browser

# What came back from the server: the check page's own statistics of its test call.
ECHOED = """async () => {
    const call = window.videoterminTestCall;
    if (!call) return null;
    const stats = await call.stats();
    return stats.framesDecoded > 0 && stats.packetsReceived > 0 ? stats : null;
}"""

# The host candidates of the offer the page sent to the server.
OFFERED_HOSTS = """() => window.videoterminTestCall.pc.localDescription.sdp
    .split(/\\r?\\n/)
    .filter((line) => line.startsWith('a=candidate:') && line.includes(' typ host'))
    .map((line) => line.split(' ')[4])"""

# The echo as Dana sees it: is it playing, and how large is the picture.
ECHO_PICTURE = """() => {
    const video = document.getElementById('echo');
    return {hidden: video.hidden, paused: video.paused, width: video.videoWidth,
            height: video.videoHeight};
}"""


def citizen(booking) -> Member:
    return Member.objects.get(pk=booking.citizen.pk)


def test_dana_in_firefox_agrees_and_sees_and_hears_herself_through_the_server(
    echo_backend, new_firefox_context, booking
):
    dana = new_firefox_context().new_page()
    dana.goto(reverse("journey:link", args=[booking.token]))
    assert booking.token not in dana.url

    # She agrees; the device check runs by itself and shows its result.
    dana.click("button[name=decision][value=accept]")
    dana.wait_for_selector("#result")
    assert dana.url.endswith(reverse("journey:check", args=[booking.citizen.public_id]))
    checked = wait_until(lambda: citizen(booking).check_result, message="the check's result")
    assert checked in ("green", "yellow")
    assert citizen(booking).check_details["browser"].startswith("Firefox")

    # The test call: her camera and microphone go to the server and come back.
    dana.click("#test-call")
    stats = dana.wait_for_function(ECHOED, timeout=20)
    assert stats["framesDecoded"] > 0 and stats["packetsReceived"] > 0
    picture = dana.wait_for_function(
        f"() => {{ const p = ({ECHO_PICTURE})(); return p.width > 0 && p; }}"
    )
    assert (picture["hidden"], picture["paused"]) == (False, False)
    # Her fake camera's 4:3 picture; the sender may scale it down while the link warms up.
    assert picture["width"] * 3 == picture["height"] * 4, picture
    assert echo.backend().count() == 1
    # Her Firefox offered the server only masked host addresses, as every user's does.
    hosts = dana.evaluate(OFFERED_HOSTS)
    assert hosts and all(host.endswith(".local") for host in hosts), hosts

    # After a few seconds of media the check counts the test call as done.
    wait_until(lambda: citizen(booking).check_details.get("test_call"), message="the report")
    assert citizen(booking).check_details["loss_pct"] < 3
    with override(booking.citizen.language):
        running = gettext("The test call is running: you should see and hear yourself.")
    dana.wait_for_text(running, "#test-call-state")

    # Hanging up ends the echo on the server too.
    dana.click("#test-call")
    wait_until(lambda: echo.backend().count() == 0, message="the echo to end")
    assert dana.evaluate("() => window.videoterminTestCall") is None
    assert dana.errors() == []
