"""Chat and documents between Alice and Dana in two real browsers, over the peers' data channels:
links are safe, markup stays text, limits hold on both sides, and the server sees none of it."""

import hashlib
import json
import os

import pytest
from django.urls import reverse
from tests.browser.test_call import open_counselor_room

from videotermin.consent import services as consent

pytestmark = pytest.mark.browser

MARKUP = "<img src=x onerror=alert(1)><script>alert(2)</script>"
CHANNELS_OPEN = """() => [...window.videoterminPeers.values()].some(
    (peer) => peer.chat.readyState === 'open' && peer.files.readyState === 'open')"""
# What the page's "files" data channel has sent so far, from the peer connection's statistics.
FILES_SENT = """async () => {
    let messages = 0;
    for (const peer of window.videoterminPeers.values()) {
        (await peer.pc.getStats()).forEach((report) => {
            if (report.type === 'data-channel' && report.label === 'files') {
                messages += report.messagesSent;
            }
        });
    }
    return messages;
}"""
# Headless pages are never hidden; switch the tab "away" and back as a browser would report it.
HIDE_TAB = """(hidden) => {
    Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
}"""
# Send raw data on the first peer's channel, as a modified or misbehaving browser could.
SEND_RAW = """([channel, items]) => {
    const peer = [...window.videoterminPeers.values()][0];
    for (const item of items) {
        peer[channel].send(typeof item === 'string' ? item : new Uint8Array(item).buffer);
    }
}"""


@pytest.fixture
def dana(book, agency):
    """Dana's appointment in English, so her page shows the source strings; she has consented."""
    booking = book(language="en")
    consent.decide(booking.citizen, consent.current_text(agency, "en"), accepted=True)
    return booking


def record_frames(page) -> list:
    """Every WebSocket frame the page sends or receives, from now on."""
    frames: list = []

    def on_websocket(socket):
        socket.on("framesent", lambda payload: frames.append(payload))
        socket.on("framereceived", lambda payload: frames.append(payload))

    page.on("websocket", on_websocket)
    return frames


def seen_by_server(frames: list, text: str) -> bool:
    """Whether the text went over the signaling socket, as is or JSON-escaped."""
    escaped = json.dumps(text)[1:-1]
    for frame in frames:
        payload = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        if text in payload or escaped in payload:
            return True
    return False


def in_call(new_context, booking):
    """Dana (recording her WebSocket frames) and Alice in a running call with open channels."""
    citizen = new_context().new_page()
    frames = record_frames(citizen)
    citizen.goto(f"/j/{booking.token}/")
    citizen.goto(reverse("journey:room", args=[booking.citizen.public_id]))
    citizen.locator("#waiting").wait_for()
    counselor = open_counselor_room(new_context(), booking.appointment)
    counselor_frames = record_frames(counselor)
    counselor.get_by_role("button", name="Admit").click()
    for page in (citizen, counselor):
        page.wait_for_function(CHANNELS_OPEN)
    return citizen, counselor, frames + counselor_frames


def open_chat(page):
    toggle = page.get_by_role("button", name="Chat")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    return page.locator("#chat-log")


def say(page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def test_dana_and_alice_chat_both_ways_with_safe_links_and_nothing_passes_the_server(
    new_context, dana, server
):
    citizen, counselor, frames = in_call(new_context, dana)
    dialogs: list = []
    for page in (citizen, counselor):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    address = f"{server.url}/?bescheid=4711"

    open_chat(citizen)
    say(citizen, f"Guten Tag! Mein Bescheid steht hier: {address}.")
    counselor_log = open_chat(counselor)
    from_dana = counselor_log.locator(".chat-message").filter(has_text="Guten Tag")
    from_dana.wait_for()
    say(counselor, MARKUP)
    reply = citizen.locator("#chat-log .chat-message").filter(has_text="alert(1)")
    reply.wait_for()

    assert from_dana.locator(".who").text_content() == "Dana Yilmaz (citizen)"
    link = from_dana.get_by_role("link")
    assert link.text_content() == address  # the full stop after it is not part of it
    assert link.get_attribute("href") == address
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener noreferrer"
    with counselor.context.expect_page() as opened:
        link.click()
    assert opened.value.evaluate("window.opener") is None
    assert reply.locator(".text").text_content() == MARKUP
    assert reply.locator(".who").text_content() == "Alice Berger (counselor)"
    assert citizen.locator("#chat-log img, #chat-log script").count() == 0
    assert dialogs == []
    assert citizen.locator("#chat-log .own .who").text_content() == "You"
    assert frames, "the WebSocket frames were recorded"
    assert not seen_by_server(frames, "Guten Tag")
    assert not seen_by_server(frames, MARKUP)


def test_a_message_over_the_length_limit_is_neither_sent_nor_accepted(new_context, dana):
    citizen, counselor, _ = in_call(new_context, dana)
    counselor_log = open_chat(counselor)
    open_chat(citizen)
    box = citizen.get_by_label("Your message")
    assert box.get_attribute("maxlength") == "2000"

    # Script can put more into the box than typing can; sending still refuses it.
    box.evaluate("(box, text) => { box.value = text; }", "x" * 2001)
    box.press("Enter")
    citizen.get_by_text("The message is too long").wait_for()
    assert box.input_value() == "x" * 2001, "the refused text stays for shortening"
    say(citizen, "Kurz und gut.")
    counselor_log.get_by_text("Kurz und gut.").wait_for()
    # A browser that ignores the limit: Dana's page drops what is too long.
    too_long = {"v": 1, "type": "message", "text": "y" * 2001, "from": "Alice", "role": ""}
    just_right = {"v": 1, "type": "message", "text": "z" * 2000, "from": "Alice", "role": ""}
    counselor.evaluate(SEND_RAW, ["chat", [json.dumps(too_long), json.dumps(just_right)]])
    citizen.locator("#chat-log .chat-message").filter(has_text="zzz").wait_for()

    assert counselor_log.locator(".chat-message").count() == 1
    assert citizen.locator("#chat-log .chat-message").filter(has_text="yyy").count() == 0


def test_dana_sees_how_many_messages_she_has_not_read_until_she_opens_the_chat(new_context, dana):
    citizen, counselor, _ = in_call(new_context, dana)
    open_chat(counselor)
    badge = citizen.locator("#chat-unread")
    assert badge.is_hidden()

    say(counselor, "Haben Sie den Bescheid dabei?")
    say(counselor, "Dann schauen wir ihn gemeinsam an.")

    badge.locator(".count").filter(has_text="2").wait_for()
    assert badge.locator(".label").text_content().strip() == "2 unread"
    toggle = citizen.get_by_role("button", name="Chat")
    assert "2 unread" in toggle.evaluate("el => el.textContent")
    announced = citizen.locator("#chat-announce")
    assert announced.text_content() == "New message from Alice Berger (counselor)"
    assert citizen.locator("#chat-log").get_attribute("role") == "log"
    toggle.click()
    assert badge.is_hidden()
    assert citizen.get_by_label("Your message").evaluate("el => el === document.activeElement")
    assert citizen.locator("#chat-log .chat-message").count() == 2


def test_a_message_that_arrives_while_danas_tab_is_in_the_background_counts_as_unread(
    new_context, dana
):
    citizen, counselor, _ = in_call(new_context, dana)
    open_chat(counselor)
    open_chat(citizen)
    badge = citizen.locator("#chat-unread")
    citizen.evaluate(HIDE_TAB, True)

    say(counselor, "Sind Sie noch da?")

    badge.locator(".count").filter(has_text="1").wait_for()
    citizen.evaluate(HIDE_TAB, False)
    badge.wait_for(state="hidden")
    assert citizen.locator("#chat-log").get_by_text("Sind Sie noch da?").is_visible()


def test_a_document_from_alice_arrives_at_dana_byte_identical_and_never_at_the_server(
    new_context, dana
):
    citizen, counselor, frames = in_call(new_context, dana)
    open_chat(counselor)
    content = os.urandom(300 * 1024)

    counselor.get_by_label("Send a document").set_input_files(
        files=[{"name": "Bescheid-4711.pdf", "mimeType": "application/pdf", "buffer": content}]
    )

    badge = citizen.locator("#chat-unread .count")
    badge.filter(has_text="1").wait_for()
    open_chat(citizen)
    arrived = citizen.locator("#chat-log .transfer").filter(has_text="Bescheid-4711.pdf")
    save = arrived.get_by_role("link", name="Save")
    save.wait_for()
    counselor.locator("#chat-log .transfer .document-state").filter(has_text="Sent").wait_for()
    assert arrived.locator(".who").text_content() == "Alice Berger (counselor)"
    assert arrived.locator("progress").evaluate("p => p.value === p.max")
    with citizen.expect_download() as download:
        save.click()
    saved = download.value

    assert saved.suggested_filename == "Bescheid-4711.pdf"
    with open(saved.path(), "rb") as file:
        assert hashlib.sha256(file.read()).hexdigest() == hashlib.sha256(content).hexdigest()
    assert not seen_by_server(frames, "Bescheid-4711")


def test_a_forbidden_kind_of_file_and_a_too_large_one_are_refused_before_anything_is_sent(
    new_context, dana, settings
):
    settings.MAX_DOCUMENT_MB = 1
    citizen, counselor, _ = in_call(new_context, dana)
    open_chat(citizen)
    choose = citizen.get_by_label("Send a document")
    error = citizen.locator("#document-error")

    choose.set_input_files(
        files=[{"name": "rechnung.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
    )
    error.filter(has_text="This kind of file cannot be sent").wait_for()
    choose.set_input_files(
        files=[{"name": "seite.pdf", "mimeType": "text/html", "buffer": b"<script></script>"}]
    )
    error.filter(has_text="This kind of file cannot be sent").wait_for()
    choose.set_input_files(
        files=[
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": bytes(1024 * 1024 + 1)}
        ]
    )
    error.filter(has_text="at most 1 MB").wait_for()
    nothing_sent = citizen.evaluate(FILES_SENT)
    # The same channel does carry an allowed document, so the count above could have risen.
    choose.set_input_files(
        files=[{"name": "passbild.png", "mimeType": "image/png", "buffer": bytes(1024 * 1024)}]
    )
    open_chat(counselor).get_by_role("link", name="Save").wait_for()

    assert nothing_sent == 0
    assert citizen.evaluate(FILES_SENT) > 0
    assert error.is_hidden()
    assert counselor.locator("#chat-log .transfer").count() == 1
    assert citizen.get_by_text("up to 1 MB").is_visible()


def test_dana_refuses_a_document_that_alices_browser_should_not_have_sent(new_context, dana):
    citizen, counselor, _ = in_call(new_context, dana)
    log = open_chat(citizen)
    header = {
        "v": 1,
        "type": "file",
        "id": "a1",
        "name": "tool.exe",
        "size": 2,
        "mime": "application/x-msdownload",
        "from": "Alice Berger",
        "role": "counselor",
    }
    too_big = {
        **header,
        "id": "a2",
        "name": "big.pdf",
        "mime": "application/pdf",
        "size": 26 * 1024 * 1024,
    }
    disguised = {**header, "id": "a3", "name": "brief.pdf", "mime": "text/html"}
    counselor.evaluate(
        """() => {
            const peer = [...window.videoterminPeers.values()][0];
            window.answers = [];
            peer.files.addEventListener('message', (event) => window.answers.push(event.data));
        }"""
    )

    counselor.evaluate(
        SEND_RAW,
        ["files", [json.dumps(m) for m in (header, too_big, disguised)] + [[77, 90]]],
    )

    counselor.wait_for_function("() => window.answers.length === 3")
    answers = [json.loads(answer) for answer in counselor.evaluate("window.answers")]
    assert answers == [{"v": 1, "type": "cancel", "id": i} for i in ("a1", "a2", "a3")]
    refused = log.get_by_text("A document was refused because its kind or size is not allowed.")
    assert refused.count() == 3
    assert log.locator(".transfer").count() == 0


def test_dana_can_cancel_a_document_while_it_arrives(new_context, dana):
    citizen, counselor, _ = in_call(new_context, dana)
    log = open_chat(citizen)
    header = {
        "v": 1,
        "type": "file",
        "id": "b1",
        "name": "Lebenslauf.docx",
        "size": 40_000,
        "mime": "",
        "from": "Alice Berger",
        "role": "counselor",
    }
    counselor.evaluate(
        """() => {
            const peer = [...window.videoterminPeers.values()][0];
            window.answers = [];
            peer.files.addEventListener('message', (event) => window.answers.push(event.data));
        }"""
    )
    counselor.evaluate(SEND_RAW, ["files", [json.dumps(header), list(range(200)) * 50]])
    arriving = log.locator(".transfer").filter(has_text="Lebenslauf.docx")
    arriving.locator("progress").and_(citizen.locator("[value='10000']")).wait_for()

    arriving.get_by_role("button", name="Cancel").click()
    counselor.wait_for_function("() => window.answers.length === 1")
    # The rest of the document and its end marker, already on their way, are ignored.
    rest = [list(range(100)) * 300, json.dumps({"v": 1, "type": "end", "id": "b1"})]
    counselor.evaluate(SEND_RAW, ["files", rest])
    open_chat(counselor)
    say(counselor, "Schon gut.")
    log.get_by_text("Schon gut.").wait_for()

    assert json.loads(counselor.evaluate("window.answers[0]")) == {
        "v": 1,
        "type": "cancel",
        "id": "b1",
    }
    assert arriving.locator(".document-state").text_content() == "Cancelled"
    assert arriving.get_by_role("link", name="Save").count() == 0
    assert arriving.locator("progress").count() == 0
