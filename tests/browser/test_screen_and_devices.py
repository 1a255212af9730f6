"""Screen sharing (Alice always, Dana only while allowed) and device switching, in real browsers
with one context per person. The fake screen (1280x720) and camera (640x480) differ in size, so
getStats tells them apart on each peer's own section."""

import time

import pytest
from tests.browser.conftest import wait_for_media, wait_until
from tests.browser.room import (
    admit,
    knows,
    meet,
    member_row,
    open_member_room,
    open_panel,
    person,
)
from tests.personas import agree, interpreter_invitee

# Calls of three to five people, each in a browser of their own, on two shared cores.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

# What the page receives from one member on that member's screen or camera section.
RECEIVED_SCRIPT = """async ([member, which]) => {
    const peer = [...window.videoterminPeers.values()].find((p) => p.member === member);
    const section = peer && peer.sections[which];
    if (!section) return null;
    const result = {framesDecoded: 0, width: 0, height: 0};
    (await section.receiver.getStats()).forEach((report) => {
        if (report.type !== 'inbound-rtp' || report.kind !== 'video') return;
        result.framesDecoded = report.framesDecoded || 0;
        result.width = report.frameWidth || 0;
        result.height = report.frameHeight || 0;
    });
    return result;
}"""

# What the page sends on every peer's screen section: the track and the frames sent so far.
SENT_SCREEN_SCRIPT = """async () => {
    const result = {};
    for (const peer of window.videoterminPeers.values()) {
        const sender = peer.sections.screen.sender;
        let framesSent = 0;
        (await sender.getStats()).forEach((report) => {
            if (report.type === 'outbound-rtp') framesSent += report.framesSent || 0;
        });
        const [encoding] = sender.getParameters().encodings;
        result[peer.member] = {
            track: sender.track && sender.track.readyState,
            active: encoding ? encoding.active : null,
            framesSent,
        };
    }
    return result;
}"""

# The shared screen on the stage beside the people's tiles.
STAGE_SCRIPT = """() => {
    const video = document.getElementById('remote-screen');
    const box = video.getBoundingClientRect();
    return {
        videoWidth: video.videoWidth,
        videoHeight: video.videoHeight,
        width: box.width,
        height: box.height,
        tiles: [...document.querySelectorAll('#tiles li.tile')].map((tile) => {
            const r = tile.getBoundingClientRect();
            return r.width * r.height;
        }),
    };
}"""

CAMERA_WIDTH, CAMERA_HEIGHT = 640, 480
SCREEN_WIDTH, SCREEN_HEIGHT = 1280, 720  # Chromium's fake getDisplayMedia()


@pytest.fixture
def invited(book):
    """Dana's appointment with Olga as her interpreter, in English."""
    return book(language="en", extras=[interpreter_invitee()])


@pytest.fixture
def dana(invited):
    return agree(invited.citizen)


@pytest.fixture
def olga(invited):
    return agree(invited.extras[0][0])


@pytest.fixture
def alice(invited, counselor):
    return invited.appointment.members.get(user=counselor)


@pytest.fixture
def three(new_context, invited, dana, olga):
    """Alice, Dana and Olga in a call, media flowing on every pair."""
    return meet(
        new_context, invited.appointment, (invited.token, dana), (invited.extras[0][1], olga)
    )


@pytest.fixture
def two(new_context, invited, dana):
    """Alice and Dana in a call."""
    return meet(new_context, invited.appointment, (invited.token, dana))


def received(page, member, which: str = "screen") -> dict:
    return page.evaluate(RECEIVED_SCRIPT, [str(member.public_id), which])


def wait_for_frames(page, member, which="screen", more_than: int = 0, timeout=30) -> dict:
    """Wait until the page has decoded more than `more_than` frames of the member's section."""
    deadline = time.monotonic() + timeout
    while (stats := received(page, member, which))["framesDecoded"] <= more_than:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {which} frames decoded beyond {more_than}: {stats}")
        page.wait_for_timeout(200)
    return stats


def full_size_screen_from(page, member) -> dict:
    """The member's screen as the page decodes it, once frames keep arriving at full size."""
    first = wait_for_frames(page, member)
    deadline = time.monotonic() + 30
    while (screen := wait_for_frames(page, member, more_than=first["framesDecoded"]))[
        "width"
    ] != SCREEN_WIDTH:
        assert time.monotonic() < deadline, f"the screen is not decoded at full size: {screen}"
        first = screen
    return screen


def sent_screen(page) -> dict:
    return page.evaluate(SENT_SCREEN_SCRIPT)


def frames_sent(page) -> int:
    return sum(peer["framesSent"] for peer in sent_screen(page).values())


def wait_until_still(count, page, quiet: float = 1.0, timeout: float = 20) -> int:
    """Wait until a counter of the page stops growing for `quiet` seconds; return it."""
    deadline = time.monotonic() + timeout
    before = count()
    while True:
        page.wait_for_timeout(quiet * 1000)
        now = count()
        if now == before:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"still growing: {now}")
        before = now


def share_button(page):
    return page.locator("#share-screen")


def may_share(host, member):
    open_panel(host, "people")
    return person(host, member).get_by_role("button", name="May share the screen")


def test_alices_screen_is_decoded_at_full_size_and_shown_large_to_dana_and_olga(three, alice):
    host, citizen, interpreter = three
    assert received(citizen, alice)["framesDecoded"] == 0

    share_button(host).click()

    for page in (citizen, interpreter):
        screen = full_size_screen_from(page, alice)
        assert (screen["width"], screen["height"]) == (SCREEN_WIDTH, SCREEN_HEIGHT)
        camera = received(page, alice, "camera")
        # The camera may arrive scaled down while the bandwidth estimate ramps up; the screen
        # keeps its size (contentHint "detail" lowers the frame rate instead).
        assert 0 < camera["width"] <= CAMERA_WIDTH and 0 < camera["height"] <= CAMERA_HEIGHT
        page.locator("#remote-screen").wait_for()
        page.wait_for_function(
            "() => document.getElementById('remote-screen').videoWidth > 0", timeout=30_000
        )
        stage = page.evaluate(STAGE_SCRIPT)
        assert (stage["videoWidth"], stage["videoHeight"]) == (SCREEN_WIDTH, SCREEN_HEIGHT)
        assert stage["width"] * stage["height"] > max(stage["tiles"]), stage
        assert page.locator("#stage.sharing").is_visible()
        assert "Alice Berger" in page.locator("#screen-status").text_content()
    assert share_button(host).get_attribute("aria-pressed") == "true"
    assert member_row(alice).screen_on


def test_dana_shares_only_while_alice_allows_it_and_revoking_stops_her_share_everywhere(
    three, dana
):
    alice, citizen, interpreter = three
    assert share_button(citizen).is_hidden()
    assert may_share(alice, dana).get_attribute("aria-pressed") == "false"

    may_share(alice, dana).click()
    share_button(citizen).click()

    for page in (alice, interpreter):
        screen = full_size_screen_from(page, dana)
        assert (screen["width"], screen["height"]) == (SCREEN_WIDTH, SCREEN_HEIGHT)
        page.locator("#remote-screen").wait_for()
    assert may_share(alice, dana).get_attribute("aria-pressed") == "true"
    assert frames_sent(citizen) > 0

    may_share(alice, dana).click()  # revoked

    share_button(citizen).wait_for(state="hidden")
    citizen.locator("#screen-status").filter(has_text="no longer allowed").wait_for()
    for page in (alice, interpreter):
        page.locator("#remote-screen").wait_for(state="hidden")
        knows(page, dana, "!m.screen && !m.may.screen")
    assert all(peer["track"] is None for peer in sent_screen(citizen).values())
    stopped = wait_until_still(lambda: frames_sent(citizen), citizen)
    citizen.wait_for_timeout(3000)
    assert frames_sent(citizen) == stopped
    row = member_row(dana)
    assert (row.may_share_screen, row.screen_on) == (False, False)


def test_when_alice_stops_sharing_her_screen_sender_sends_no_more_frames_until_she_shares_again(
    three, alice
):
    host, citizen, interpreter = three
    share_button(host).click()
    for page in (citizen, interpreter):
        full_size_screen_from(page, alice)
    assert frames_sent(host) > 0

    share_button(host).click()  # "Stop sharing"

    for page in (citizen, interpreter):
        page.locator("#remote-screen").wait_for(state="hidden")
    assert share_button(host).get_attribute("aria-pressed") == "false"
    peers = sent_screen(host)
    assert [(p["track"], p["active"]) for p in peers.values()] == [(None, False)] * 2, peers
    # Frames already in flight may still go out; then none for a few seconds.
    stopped = wait_until_still(lambda: frames_sent(host), host)
    host.wait_for_timeout(3000)
    assert frames_sent(host) == stopped
    wait_until(lambda: not member_row(alice).screen_on, message="the room hears of the stop")
    decoded = received(citizen, alice)["framesDecoded"]

    share_button(host).click()

    wait_for_frames(citizen, alice, more_than=decoded)
    citizen.locator("#remote-screen").wait_for()
    assert frames_sent(host) > stopped


def test_stopping_with_the_browsers_own_control_ends_the_share_for_everybody(three, alice):
    host, citizen, interpreter = three
    share_button(host).click()
    for page in (citizen, interpreter):
        wait_for_frames(page, alice)
        page.locator("#remote-screen").wait_for()

    # What the browser's "Stop sharing" bar does: the track ends.
    host.evaluate(
        """() => {
            const [peer] = window.videoterminPeers.values();
            const track = peer.sections.screen.sender.track;
            track.stop();
            track.dispatchEvent(new Event('ended'));
        }"""
    )

    for page in (citizen, interpreter):
        page.locator("#remote-screen").wait_for(state="hidden")
    assert share_button(host).get_attribute("aria-pressed") == "false"
    assert all(peer["track"] is None for peer in sent_screen(host).values())
    wait_until(lambda: not member_row(alice).screen_on, message="the room hears of the end")


def test_olga_who_is_let_in_while_alice_shares_sees_the_screen_at_once(
    two, new_context, invited, olga, alice
):
    host, citizen = two
    share_button(host).click()
    full_size_screen_from(citizen, alice)
    interpreter = open_member_room(new_context(), invited.extras[0][1], olga)

    admit(host, olga, interpreter)

    wait_for_media(interpreter, peers=2, timeout=60)
    screen = full_size_screen_from(interpreter, alice)
    assert (screen["width"], screen["height"]) == (SCREEN_WIDTH, SCREEN_HEIGHT)
    interpreter.locator("#remote-screen").wait_for()


def test_switching_the_camera_reacquires_it_and_the_picture_keeps_flowing(two, dana):
    alice, citizen = two
    open_panel(citizen, "settings")
    camera = citizen.locator("#device-camera")
    options = camera.locator("option")
    assert options.count() >= 1 and options.first.text_content()
    old = citizen.evaluate(
        "() => document.querySelector('#local-video').srcObject.getVideoTracks()[0].id"
    )
    before = received(alice, dana, "camera")["framesDecoded"]

    camera.select_option(camera.input_value())

    sent = citizen.wait_for_function(
        """(old) => {
            const [peer] = window.videoterminPeers.values();
            const sender = peer.sections.camera.sender;
            const local = document.querySelector('#local-video').srcObject.getVideoTracks();
            return sender.track && sender.track.id !== old && sender.track.readyState === 'live'
                && local.length === 1 && local[0] === sender.track && sender.track.id;
        }""",
        arg=old,
        timeout=30_000,
    ).json_value()
    assert sent != old
    wait_for_frames(alice, dana, "camera", more_than=before + 30)
    assert "fake_device_0" in citizen.locator("#device-status").text_content()


def test_switching_the_microphone_keeps_it_muted(two):
    alice, citizen = two
    citizen.locator("#toggle-microphone").click()
    open_panel(citizen, "settings")
    microphone = citizen.locator("#device-microphone")
    old = citizen.evaluate(
        "() => window.videoterminPeers.values().next().value.sections.audio.sender.track.id"
    )

    microphone.select_option(index=microphone.locator("option").count() - 1)

    enabled = citizen.wait_for_function(
        """(old) => {
            const peer = window.videoterminPeers.values().next().value;
            const track = peer.sections.audio.sender.track;
            return track && track.id !== old && {enabled: track.enabled};
        }""",
        arg=old,
        timeout=30_000,
    ).json_value()
    assert enabled == {"enabled": False}
    assert citizen.locator("#toggle-microphone").get_attribute("aria-pressed") == "true"
