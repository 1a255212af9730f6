"""Screen sharing (the counselor always, Dana only while allowed) and device switching, in two
real browsers whose fake screen and camera differ in size, so getStats tells them apart."""

import time

import pytest
from tests.browser.conftest import wait_until
from tests.browser.test_call import (
    admit_and_connect,
    open_citizen_room,
    open_counselor_room,
)

from videotermin.appointments.models import Appointment, Participant

pytestmark = pytest.mark.browser

# What the page's one peer receives on the screen's section, and on the camera's.
RECEIVED_SCRIPT = """async (which) => {
    const peer = [...window.videoterminPeers.values()][0];
    if (!peer || !peer.screenMid) return null;
    const screen = peer.screenTransceiver();
    const transceiver = which === 'screen' ? screen : peer.pc.getTransceivers().find(
        (t) => t !== screen && t.receiver.track.kind === 'video');
    const result = {framesDecoded: 0, width: 0, height: 0};
    (await transceiver.receiver.getStats()).forEach((report) => {
        if (report.type !== 'inbound-rtp' || report.kind !== 'video') return;
        result.framesDecoded = report.framesDecoded || 0;
        result.width = report.frameWidth || 0;
        result.height = report.frameHeight || 0;
    });
    return result;
}"""

# The track the page's one peer sends on the screen's section (null: nothing shared).
SENT_SCREEN_SCRIPT = """() => {
    const peer = [...window.videoterminPeers.values()][0];
    const track = peer.screenTransceiver().sender.track;
    return track && {id: track.id, state: track.readyState};
}"""

CAMERA_WIDTH, CAMERA_HEIGHT = 640, 480
SCREEN_WIDTH, SCREEN_HEIGHT = 1280, 720  # Chromium's fake getDisplayMedia()


def received(page, which: str = "screen") -> dict:
    return page.evaluate(RECEIVED_SCRIPT, which)


def wait_for_frames(page, which: str = "screen", more_than: int = 0, timeout: float = 15) -> dict:
    """Wait until the page has decoded more than `more_than` frames on that section."""
    deadline = time.monotonic() + timeout
    while (stats := received(page, which))["framesDecoded"] <= more_than:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {which} frames decoded beyond {more_than}: {stats}")
        page.wait_for_timeout(200)
    return stats


def wait_until_frames_stop(page, which: str = "screen", timeout: float = 15) -> int:
    """Wait until no new frame was decoded for a second; return the count."""
    deadline = time.monotonic() + timeout
    before = received(page, which)["framesDecoded"]
    while True:
        page.wait_for_timeout(1000)
        now = received(page, which)["framesDecoded"]
        if now == before:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"{which} frames keep arriving: {now}")
        before = now


def in_a_call(new_context, booking, appointment):
    citizen = open_citizen_room(new_context(), booking)
    counselor = open_counselor_room(new_context(), appointment)
    admit_and_connect(counselor, citizen)
    return citizen, counselor


def share_button(page):
    # By id: Dana's page speaks German, the counselor's English.
    return page.locator("#share-screen")


def open_device_settings(page):
    page.locator("#device-settings summary").click()


def permission(counselor):
    return counselor.get_by_role("button", name="Allow Dana Yilmaz to share the screen")


def test_the_counselors_shared_screen_is_decoded_on_the_citizens_side_in_its_own_size(
    new_context, consented, appointment
):
    citizen, counselor = in_a_call(new_context, consented, appointment)
    assert received(citizen)["framesDecoded"] == 0

    share_button(counselor).click()

    screen = wait_for_frames(citizen, more_than=0)
    screen = wait_for_frames(citizen, more_than=screen["framesDecoded"])
    camera = received(citizen, "camera")
    # The camera may arrive scaled down while the bandwidth estimate ramps up; the screen keeps
    # its size (contentHint "detail" lowers the frame rate instead).
    assert 0 < camera["width"] <= CAMERA_WIDTH and 0 < camera["height"] <= CAMERA_HEIGHT
    assert (screen["width"], screen["height"]) == (SCREEN_WIDTH, SCREEN_HEIGHT)
    citizen.locator("#remote-screen").wait_for()
    assert citizen.locator(".stage.sharing").is_visible()
    assert share_button(counselor).get_attribute("aria-pressed") == "true"
    assert "Alice Berger" in citizen.locator("#screen-status").text_content()
    assert Appointment.objects.get(pk=appointment.pk).counselor_screen_on


def test_the_citizen_shares_only_while_the_counselor_allows_it(new_context, consented, appointment):
    citizen, counselor = in_a_call(new_context, consented, appointment)
    assert share_button(citizen).is_hidden()
    assert permission(counselor).get_attribute("aria-pressed") == "false"

    permission(counselor).click()
    share_button(citizen).click()

    screen = wait_for_frames(counselor, more_than=0)
    assert (screen["width"], screen["height"]) == (SCREEN_WIDTH, SCREEN_HEIGHT)
    counselor.locator("#remote-screen").wait_for()
    assert permission(counselor).get_attribute("aria-pressed") == "true"

    permission(counselor).click()  # revoked

    share_button(citizen).wait_for(state="hidden")
    counselor.locator("#remote-screen").wait_for(state="hidden")
    assert citizen.evaluate(SENT_SCREEN_SCRIPT) is None
    wait_until_frames_stop(counselor)
    row = Participant.objects.get(pk=consented.citizen.pk)
    assert (row.may_share_screen, row.screen_on) == (False, False)


def test_stopping_with_the_browsers_own_control_ends_the_share_on_both_sides(
    new_context, consented, appointment
):
    citizen, counselor = in_a_call(new_context, consented, appointment)
    share_button(counselor).click()
    wait_for_frames(citizen)
    citizen.locator("#remote-screen").wait_for()

    # What the browser's "Stop sharing" bar does: the track ends.
    counselor.evaluate(
        """() => {
            const peer = [...window.videoterminPeers.values()][0];
            const track = peer.screenTransceiver().sender.track;
            track.stop();
            track.dispatchEvent(new Event('ended'));
        }"""
    )

    citizen.locator("#remote-screen").wait_for(state="hidden")
    assert share_button(counselor).get_attribute("aria-pressed") == "false"
    assert counselor.evaluate(SENT_SCREEN_SCRIPT) is None
    wait_until(
        lambda: not Appointment.objects.get(pk=appointment.pk).counselor_screen_on,
        message="the room hears that the share ended",
    )
    wait_until_frames_stop(citizen)


def test_switching_the_camera_reacquires_it_and_the_picture_keeps_flowing(
    new_context, consented, appointment
):
    citizen, counselor = in_a_call(new_context, consented, appointment)
    open_device_settings(citizen)
    camera = citizen.locator("#device-camera")
    options = camera.locator("option")
    assert options.count() >= 1 and options.first.text_content()
    old = citizen.evaluate(
        "() => document.querySelector('#local-video').srcObject.getVideoTracks()[0].id"
    )
    before = received(counselor, "camera")["framesDecoded"]

    camera.select_option(camera.input_value())

    sent = citizen.wait_for_function(
        """(old) => {
            const peer = [...window.videoterminPeers.values()][0];
            const screen = peer.screenTransceiver().sender;
            const sender = peer.pc.getSenders().find(
                (s) => s.track && s.track.kind === 'video' && s !== screen);
            const local = document.querySelector('#local-video').srcObject.getVideoTracks();
            return sender && sender.track.id !== old && sender.track.readyState === 'live'
                && local.length === 1 && local[0] === sender.track && sender.track.id;
        }""",
        arg=old,
    ).json_value()
    assert sent != old
    wait_for_frames(counselor, "camera", more_than=before + 30)
    assert "fake_device_0" in citizen.locator("#device-status").text_content()


def test_switching_the_microphone_keeps_it_muted(new_context, consented, appointment):
    citizen, counselor = in_a_call(new_context, consented, appointment)
    citizen.locator("#toggle-microphone").click()
    open_device_settings(citizen)
    microphone = citizen.locator("#device-microphone")
    old = citizen.evaluate(
        "() => window.videoterminPeers.values().next().value.pc.getSenders()"
        ".find((s) => s.track && s.track.kind === 'audio').track.id"
    )

    microphone.select_option(index=microphone.locator("option").count() - 1)

    enabled = citizen.wait_for_function(
        """(old) => {
            const peer = window.videoterminPeers.values().next().value;
            const sender = peer.pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
            return sender.track.id !== old && {enabled: sender.track.enabled};
        }""",
        arg=old,
    ).json_value()
    assert enabled == {"enabled": False}
    assert citizen.locator("#toggle-microphone").get_attribute("aria-pressed") == "true"
