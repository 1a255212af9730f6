"""Calls between Firefox and Chromium in every role (N5): one browser context per person, media
proven with getStats() on every pair. Dana in Firefox with Alice in Chromium (media, chat,
a document, Alice's screen); Alice hosting from Firefox with Dana and Olga in Chromium; and a
screen shared from Firefox, which arrives at the size it is sent and stops when sharing does.

Firefox is Debian's firefox-esr (tests/browser/firefox.py); the screen it shares is a private
1280x800 Xvfb display, Chromium's is its fake 1280x720 screen."""

import hashlib
import os
import time

import pytest
from django.urls import reverse
from tests.browser.conftest import STATS_SCRIPT, wait_for_media
from tests.browser.room import admit, open_member_room, open_panel, open_staff_room, person
from tests.personas import PASSWORD, agree, interpreter_invitee

# Browsers of two engines on two shared, busy cores.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

CHROMIUM_SCREEN = (1280, 720)  # Chromium's fake getDisplayMedia()
# Firefox's timeouts are in seconds; what a person waits for here may take long on a busy machine.
WAIT = 60

# Media from every peer of a Firefox page, as wait_for_media() proves it in Chromium.
FLOWING = f"""async (peers) => {{
    const stats = await ({STATS_SCRIPT})();
    const pairs = Object.values(stats.bySession);
    return pairs.length >= peers
        && pairs.every((p) => p.framesDecoded > 0 && p.packetsReceived > 0) && stats;
}}"""

# What the page receives on a member's screen (or camera) section.
RECEIVED = """async ([member, which]) => {
    const peer = [...window.videoterminPeers.values()].find((p) => p.member === member);
    const section = peer && peer.sections[which];
    const result = {framesDecoded: 0, width: 0, height: 0};
    if (!section) return result;
    (await section.receiver.getStats()).forEach((report) => {
        if (report.type !== 'inbound-rtp' || report.kind !== 'video') return;
        result.framesDecoded = report.framesDecoded || 0;
        result.width = report.frameWidth || 0;
        result.height = report.frameHeight || 0;
    });
    return result;
}"""

# What the page sends on its screen section to every peer: the captured track's size and what
# goes out (outbound-rtp), summed over the peers.
SENT_SCREEN = """async () => {
    const result = {framesSent: 0, packetsSent: 0, width: 0, height: 0, tracks: [], active: []};
    for (const peer of window.videoterminPeers.values()) {
        const sender = peer.sections.screen && peer.sections.screen.sender;
        if (!sender) continue;
        const settings = sender.track ? sender.track.getSettings() : null;
        result.tracks.push(settings && [settings.width, settings.height]);
        const [encoding] = sender.getParameters().encodings;
        result.active.push(encoding ? encoding.active : null);
        (await sender.getStats()).forEach((report) => {
            if (report.type !== 'outbound-rtp' || report.kind !== 'video') return;
            result.framesSent += report.framesSent || 0;
            result.packetsSent += report.packetsSent || 0;
            result.width = report.frameWidth || 0;
            result.height = report.frameHeight || 0;
        });
    }
    return result;
}"""

# The shared screen on the stage, as the person sees it.
STAGE_SCREEN = """() => {
    const video = document.getElementById('remote-screen');
    return !video.hidden && video.videoWidth > 0
        && {width: video.videoWidth, height: video.videoHeight};
}"""

# A chat message with this text in the page's log: who sent it, as the page shows it.
CHAT_FROM = """(text) => {
    const item = [...document.querySelectorAll('#chat-log .chat-message')]
        .find((li) => li.querySelector('.text') && li.querySelector('.text').textContent === text);
    return item ? item.querySelector('.who').textContent : null;
}"""

# The page's Content-Security-Policy (connect-src) forbids fetch() of blob: addresses, so the
# page keeps the Blob behind every object URL it makes, for the test to read.
KEEP_BLOBS = """() => {
    window.blobs = new Map();
    const create = URL.createObjectURL;
    URL.createObjectURL = (object) => {
        const url = create.call(URL, object);
        window.blobs.set(url, object);
        return url;
    };
}"""

# The document behind the first "Save" link: who sent it, its name and the SHA-256 of its Blob.
SAVED = """async () => {
    const link = document.querySelector('#chat-log .chat-message.transfer a.save');
    if (!link) return null;
    const blob = window.blobs.get(link.href);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    return {
        who: link.closest('.chat-message').querySelector('.who').textContent,
        save: link.textContent, download: link.download, size: blob.size, type: blob.type,
        sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
    };
}"""


@pytest.fixture
def invited(book):
    """Dana's appointment with Olga as her interpreter, in English (the source strings)."""
    return book(language="en", extras=[interpreter_invitee()])


@pytest.fixture
def dana(invited):
    return invited.citizen


@pytest.fixture
def olga(invited):
    return invited.extras[0][0]


@pytest.fixture
def alice(invited, counselor):
    """Alice as the host member."""
    return invited.appointment.members.get(user=counselor)


def member_id(member) -> str:
    return str(member.public_id)


def in_call_in_firefox(page) -> None:
    page.wait_for_selector("#room[data-view='call']", timeout=WAIT)


def open_member_room_in_firefox(context, token: str, member):
    """Open the personal link (the member has agreed already), then the room."""
    page = context.new_page()
    page.goto(reverse("journey:link", args=[token]), timeout=WAIT)
    page.goto(reverse("journey:room", args=[member.public_id]), timeout=WAIT)
    page.wait_for_selector("#room[data-view='waiting'], #room[data-view='call']", timeout=WAIT)
    return page


def wait_for_media_in_firefox(page, peers: int = 1) -> dict:
    """Wait until the Firefox page decodes video and receives audio on each of `peers` peers."""
    return page.wait_for_function(FLOWING, peers, timeout=WAIT)


def no_trouble_in(page) -> None:
    """Nothing in the Firefox page threw, warned or logged an error."""
    assert page.errors() == []
    assert page.warnings() == []


def chat_in_chromium(page, text: str) -> None:
    open_panel(page, "chat")
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def open_chat_in_firefox(page) -> None:
    page.click("#open-chat", timeout=WAIT)
    page.wait_for_selector("#chat-controls:not([disabled])", timeout=WAIT)


def received(page, member, which: str = "screen") -> dict:
    return page.evaluate(RECEIVED, [member_id(member), which])


def screen_sent(page) -> dict:
    return page.evaluate(SENT_SCREEN)


def steady(count, pause, quiet: float = 5.0, timeout: float = 40.0) -> int:
    """Wait until a counter stays the same over `quiet` seconds; return it."""
    deadline = time.monotonic() + timeout
    before = count()
    while True:
        pause(quiet)
        now = count()
        if now == before:
            return now
        assert time.monotonic() < deadline, f"still counting after {timeout:.0f} s: {now}"
        before = now


def test_dana_in_firefox_and_alice_in_chromium_see_hear_write_and_send_each_other_things(
    new_context, new_firefox_context, invited, dana, alice
):
    # Dana opens her link in Firefox, agrees and enters the waiting room.
    citizen = new_firefox_context().new_page()
    citizen.goto(reverse("journey:link", args=[invited.token]), timeout=WAIT)
    citizen.click("button[name=decision][value=accept]", timeout=WAIT)
    # She sees the device check's result before she goes on: while the check runs, its results
    # push the link further down the page, and a click aimed at it can land beside it.
    citizen.wait_for_selector("#result", timeout=WAIT)
    citizen.click("#enter-link", timeout=WAIT)
    citizen.wait_for_selector("#room[data-view='waiting']", timeout=WAIT)
    host = open_staff_room(new_context(), invited.appointment)

    admit(host, dana)

    in_call_in_firefox(citizen)
    wait_for_media(host, peers=1, timeout=WAIT)
    wait_for_media_in_firefox(citizen, peers=1)

    # They write to each other; each sees who wrote, with the role.
    chat_in_chromium(host, "Guten Tag, Frau Yilmaz")
    open_chat_in_firefox(citizen)
    assert citizen.wait_for_function(CHAT_FROM, "Guten Tag, Frau Yilmaz", timeout=WAIT) == (
        "Alice Berger (counselor)"
    )
    citizen.fill("#chat-input", "Guten Tag, ich höre Sie gut")
    citizen.click("#chat-form button[type=submit]")
    host.locator("#chat-log .chat-message").filter(has_text="ich höre Sie gut").wait_for()
    assert host.evaluate(CHAT_FROM, "Guten Tag, ich höre Sie gut") == "Dana Yilmaz (citizen)"

    # Alice sends her a document; Dana's Firefox has it byte for byte.
    content = b"%PDF-1.4\n" + os.urandom(300_000)
    citizen.evaluate(KEEP_BLOBS)
    host.locator("#chat-controls:not([disabled])").wait_for(state="attached")
    host.get_by_label("Send a document").set_input_files(
        files=[{"name": "Bescheid.pdf", "mimeType": "application/pdf", "buffer": content}]
    )
    saved = citizen.wait_for_function(SAVED, timeout=WAIT)
    assert saved == {
        "who": "Alice Berger (counselor)",
        "save": "Save",
        "download": "Bescheid.pdf",
        "size": len(content),
        "type": "application/pdf",
        "sha256": hashlib.sha256(content).hexdigest(),
    }

    # Alice shares her screen; Dana's Firefox shows it large, at its full size.
    host.locator("#share-screen").click()
    width, height = CHROMIUM_SCREEN
    assert citizen.wait_for_function(STAGE_SCREEN, timeout=WAIT) == {
        "width": width,
        "height": height,
    }
    screen = received(citizen, alice)
    assert (screen["width"], screen["height"]) == CHROMIUM_SCREEN
    assert screen["framesDecoded"] > 0
    citizen.wait_for_text("Alice Berger", "#screen-status", timeout=WAIT)
    no_trouble_in(citizen)


def test_alice_hosting_from_firefox_admits_dana_and_olga_in_chromium_and_all_see_and_hear(
    new_context, new_firefox_context, invited, dana, olga
):
    citizen = open_member_room(new_context(), invited.token, agree(dana))
    interpreter = open_member_room(new_context(), invited.extras[0][1], agree(olga))

    # Alice signs in in Firefox and opens the room.
    host = new_firefox_context().new_page()
    host.goto(reverse("staff:login"), timeout=WAIT)
    host.fill("input[name=username]", "alice")
    host.fill("input[name=password]", PASSWORD)
    host.click("form [type=submit]")
    host.wait_for_function(
        "() => document.readyState === 'complete' && !location.pathname.includes('/login/')",
        timeout=WAIT,
    )
    host.goto(reverse("staff:room", args=[invited.appointment.public_id]), timeout=WAIT)
    in_call_in_firefox(host)

    host.wait_for_selector("#open-people", timeout=WAIT)
    if host.evaluate("() => document.getElementById('open-people').ariaExpanded") != "true":
        host.click("#open-people")
    for member, page in ((dana, citizen), (olga, interpreter)):
        host.click(f"#people-list [data-member='{member_id(member)}'] button.admit", timeout=WAIT)
        page.locator("#room[data-view='call']").wait_for()

    for page in (citizen, interpreter):
        wait_for_media(page, peers=2, timeout=WAIT)
    stats = wait_for_media_in_firefox(host, peers=2)
    assert stats["peers"] == 2
    no_trouble_in(host)


def test_a_screen_shared_from_firefox_arrives_at_its_size_and_stops_when_sharing_stops(
    new_context, new_screen_firefox_context, invited, dana, alice
):
    citizen = open_member_room_in_firefox(new_screen_firefox_context(), invited.token, agree(dana))
    host = open_staff_room(new_context(), invited.appointment)
    admit(host, dana)
    in_call_in_firefox(citizen)
    wait_for_media(host, peers=1, timeout=WAIT)
    wait_for_media_in_firefox(citizen, peers=1)

    # Alice lets her share; she shares her (only) screen.
    open_panel(host, "people")
    person(host, dana).get_by_role("button", name="May share the screen").click()
    citizen.click("#share-screen", timeout=WAIT)
    sent = citizen.wait_for_function(
        f"async () => {{ const s = await ({SENT_SCREEN})(); return s.framesSent > 0 && s; }}",
        timeout=WAIT,
    )
    [size] = sent["tracks"]
    assert size == [1280, 800], sent

    # Alice receives it at that size once the encoder has ramped up, and keeps receiving it so.
    deadline = time.monotonic() + WAIT
    full = []
    while len(full) < 3:
        screen = received(host, dana)
        if [screen["width"], screen["height"]] == size:
            if not full or screen["framesDecoded"] > full[-1]["framesDecoded"]:
                full.append(screen)
        else:
            full = []
        assert time.monotonic() < deadline, f"shrunk: {screen}, sent {screen_sent(citizen)}"
        host.wait_for_timeout(500)
    host.locator("#remote-screen").wait_for()
    assert [screen_sent(citizen)["width"], screen_sent(citizen)["height"]] == size
    stage = host.evaluate(STAGE_SCREEN)
    assert [stage["width"], stage["height"]] == size

    citizen.click("#share-screen")  # "Stop sharing"

    host.locator("#remote-screen").wait_for(state="hidden")
    stopped = citizen.wait_for_function(
        f"async () => {{ const s = await ({SENT_SCREEN})(); return s.tracks[0] === null && s; }}",
        timeout=WAIT,
    )
    assert stopped["active"] == [False], stopped
    # Frames in flight may still arrive; then none over five seconds, on either side.
    frames_sent = steady(lambda: screen_sent(citizen)["framesSent"], time.sleep)
    frames_decoded = steady(lambda: received(host, dana)["framesDecoded"], time.sleep)
    time.sleep(5)
    assert screen_sent(citizen)["framesSent"] == frames_sent
    assert received(host, dana)["framesDecoded"] == frames_decoded
    no_trouble_in(citizen)
