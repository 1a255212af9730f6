"""Chat and documents in real browsers, one context per person, over the peers' data channels:
Alice hosts, Dana is the citizen, Olga her interpreter. Messages go to everybody or to one
member; the sender shown is the member the server knows at the other end of the connection;
what the host turns off is dropped by the receivers; links are safe, markup stays text, limits
hold on both sides; the chat is loaded only when needed, and the server sees none of it."""

import hashlib
import json
import os

import pytest
from playwright.sync_api import expect
from tests.browser.room import (
    knows,
    meet,
    member_row,
    open_panel,
    person,
    wait_for_channels,
)
from tests.personas import agree, interpreter_invitee

# Calls of three to five people, each in a browser of their own, on two shared cores.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

MARKUP = "<img src=x onerror=alert(1)><script>alert(2)</script>"
REFUSED = "A document was refused because its kind or size is not allowed."

# What the page's "files" data channels have sent so far, from the peer connections' statistics.
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
# Send raw data on a channel to one member (or to everybody: null), as a modified or
# misbehaving browser could, past every check of its own page.
SEND_RAW = """([to, channel, items]) => {
    const peers = [...window.videoterminPeers.values()]
        .filter((peer) => to === null || peer.member === to);
    for (const peer of peers) {
        for (const item of items) {
            peer[channel].send(typeof item === 'string' ? item : new Uint8Array(item).buffer);
        }
    }
    return peers.length;
}"""
# Keep what the page's channel from one member (null: from everybody) delivers, as it arrives.
LISTEN = """([from, channel]) => {
    window.heard = [];
    for (const peer of window.videoterminPeers.values()) {
        if (from !== null && peer.member !== from) continue;
        peer[channel].addEventListener('message', (event) => window.heard.push(
            typeof event.data === 'string' ? event.data : event.data.byteLength));
    }
}"""
HEARD = "(text) => window.heard.some((data) => typeof data === 'string' && data.includes(text))"
CHAT_MODULES = ("/js/chat.js", "/js/transfer.js")


@pytest.fixture
def invited(book):
    """Dana's appointment with Olga as her interpreter; in English, so that both pages show the
    source strings."""
    return book(language="en", extras=[interpreter_invitee()])


@pytest.fixture
def dana(invited):
    return agree(invited.citizen)


@pytest.fixture
def olga(invited):
    return agree(invited.extras[0][0])


@pytest.fixture
def alice(invited, counselor):
    """Alice as the host member."""
    return invited.appointment.members.get(user=counselor)


class Recorder:
    """Every WebSocket frame and every request of a person's browser, from its first page on."""

    def __init__(self) -> None:
        self.frames: list = []
        self.requests: list[str] = []

    def context(self, new_context):
        def make():
            context = new_context()
            context.on("page", self.watch)
            context.on("request", lambda request: self.requests.append(request.url))
            return context

        return make

    def watch(self, page) -> None:
        def on_websocket(socket):
            socket.on("framesent", lambda payload: self.frames.append(payload))
            socket.on("framereceived", lambda payload: self.frames.append(payload))

        page.on("websocket", on_websocket)

    def fetched(self, suffix: str) -> bool:
        return any(url.split("?")[0].endswith(suffix) for url in self.requests)


def seen_by_server(recorders, text: str) -> bool:
    """Whether the text went over any page's signaling socket, as is or JSON-escaped."""
    escaped = json.dumps(text)[1:-1]
    for recorder in recorders:
        for frame in recorder.frames:
            payload = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            if text in payload or escaped in payload:
                return True
    return False


@pytest.fixture
def recorders():
    """One recorder per person: Alice's, Dana's and Olga's."""
    return Recorder(), Recorder(), Recorder()


@pytest.fixture
def three(new_context, invited, dana, olga, recorders):
    """Alice, Dana and Olga in a call, media and every data channel open on every pair."""
    contexts = iter(recorder.context(new_context) for recorder in recorders)
    pages = meet(
        lambda: next(contexts)(),
        invited.appointment,
        (invited.token, dana),
        (invited.extras[0][1], olga),
    )
    for page in pages:
        wait_for_channels(page, peers=2)
    return pages


@pytest.fixture
def two(new_context, invited, dana, recorders):
    """Alice and Dana in a call (Olga is not there), their data channels open."""
    contexts = iter(recorder.context(new_context) for recorder in recorders)
    pages = meet(lambda: next(contexts)(), invited.appointment, (invited.token, dana))
    for page in pages:
        wait_for_channels(page, peers=1)
    return pages


def open_chat(page):
    open_panel(page, "chat")
    # Typing or choosing a file works once the chat's script is there.
    page.locator("#chat-controls:not([disabled])").wait_for()
    return page.locator("#chat-log")


def say(page, text: str, to: str | None = None) -> None:
    """Write a message in the chat panel: to everybody, or to the member named `to`."""
    open_chat(page)
    if to is not None:
        page.locator("#chat-to").select_option(label=to)
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def message(page, text: str):
    return page.locator("#chat-log .chat-message").filter(has_text=text)


def send_document(page, name: str, content: bytes, mime: str = "application/pdf") -> None:
    open_chat(page)
    page.get_by_label("Send a document").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": content}]
    )


def saved(page, transfer) -> bytes:
    """Save the received document as the person would; its bytes."""
    with page.expect_download() as download:
        transfer.get_by_role("link", name="Save").click()
    with open(download.value.path(), "rb") as file:
        return file.read()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# To everybody, to one, and from whom


def test_a_message_to_everybody_reaches_dana_and_olga_and_nothing_of_it_passes_the_server(
    three, recorders
):
    alice, citizen, interpreter = three
    for page in three:
        open_chat(page)

    say(alice, "Guten Tag, Frau Yilmaz und Frau Kowalenko.")
    say(citizen, "Guten Tag! Ich habe den Bescheid dabei.")

    for page in (citizen, interpreter):
        from_alice = message(page, "Guten Tag, Frau Yilmaz")
        from_alice.wait_for()
        assert from_alice.locator(".who").text_content() == "Alice Berger (counselor)"
        assert from_alice.locator(".private").count() == 0
    for page in (alice, interpreter):
        from_dana = message(page, "Ich habe den Bescheid dabei")
        from_dana.wait_for()
        assert from_dana.locator(".who").text_content() == "Dana Yilmaz (citizen)"
    assert alice.locator("#chat-log .own .who").text_content() == "Alice Berger (you)"
    assert all(recorder.frames for recorder in recorders), "the WebSocket frames were recorded"
    assert not seen_by_server(recorders, "Guten Tag, Frau Yilmaz")
    assert not seen_by_server(recorders, "Ich habe den Bescheid dabei")


def test_a_message_to_olga_alone_reaches_only_her_and_is_marked_private(three):
    alice, citizen, interpreter = three
    open_chat(citizen)
    open_chat(interpreter)

    say(alice, "Frau Kowalenko, bitte übersetzen Sie langsam.", to="Olga Kowalenko (interpreter)")
    # Then one to everybody: it travels the same ordered channel to Dana, after the first.
    say(alice, "Wir fangen an.", to="Everybody")

    private = message(interpreter, "bitte übersetzen Sie langsam")
    private.wait_for()
    assert private.locator(".who").text_content() == "Alice Berger (counselor)"
    assert private.locator(".private").text_content().strip() == "(only to you)"
    message(citizen, "Wir fangen an.").wait_for()
    assert message(citizen, "bitte übersetzen Sie langsam").count() == 0
    own = message(alice, "bitte übersetzen Sie langsam")
    assert own.locator(".private").text_content().strip() == (
        "(only to Olga Kowalenko (interpreter))"
    )
    assert message(alice, "Wir fangen an.").locator(".private").count() == 0


def test_the_sender_shown_is_the_member_at_the_other_end_whatever_the_message_claims(
    three, alice, olga, dana
):
    host, citizen, interpreter = three
    log = open_chat(citizen)
    claims = {"from": "Alice Berger", "role": "counselor", "member": str(alice.public_id)}
    forged = {"v": 1, "type": "message", "text": "Hier spricht Ihre Beraterin.", **claims}
    header = {
        "v": 1,
        "type": "file",
        "id": "f1",
        "name": "Bescheid.pdf",
        "size": 3,
        "mime": "application/pdf",
        **claims,
    }
    end = {"v": 1, "type": "end", "id": "f1"}

    # Olga's page claims to be Alice, to Dana only.
    sent = interpreter.evaluate(
        SEND_RAW, [str(dana.public_id), "chat", [json.dumps(forged)]]
    ) + interpreter.evaluate(
        SEND_RAW, [str(dana.public_id), "files", [json.dumps(header), [1, 2, 3], json.dumps(end)]]
    )

    assert sent == 2
    shown = message(citizen, "Hier spricht Ihre Beraterin.")
    shown.wait_for()
    assert shown.locator(".who").text_content() == "Olga Kowalenko (interpreter)"
    document = log.locator(".transfer").filter(has_text="Bescheid.pdf")
    document.get_by_role("link", name="Save").wait_for()
    assert document.locator(".who").text_content() == "Olga Kowalenko (interpreter)"
    assert log.get_by_text("Alice Berger").count() == 0


# What the host turns off


def test_with_her_chat_turned_off_olga_sees_the_notice_and_the_others_drop_what_she_sends(
    three, olga
):
    alice, citizen, interpreter = three
    for page in three:
        open_chat(page)
    say(interpreter, "Ich übersetze gern.")
    for page in (alice, citizen):
        message(page, "Ich übersetze gern.").wait_for()
    open_panel(alice, "people")
    may_chat = person(alice, olga).get_by_role("button", name="May chat")
    assert may_chat.get_attribute("aria-pressed") == "true"

    may_chat.click()

    interpreter.locator("#chat-off").wait_for()
    assert interpreter.locator("#chat-form").is_hidden()
    assert "turned off the chat for you" in interpreter.locator("#chat-off").text_content()
    assert interpreter.locator("#documents").is_visible(), "documents are still allowed"
    assert member_row(olga).may_chat is False
    open_chat(alice)
    for page in (alice, citizen):
        knows(page, olga, "!m.may.chat")
        page.evaluate(LISTEN, [str(olga.public_id), "chat"])
    # Her page sends anyway, past its own form.
    interpreter.evaluate(
        SEND_RAW, [None, "chat", [json.dumps({"v": 1, "type": "message", "text": "Trotzdem."})]]
    )
    for page in (alice, citizen):
        page.wait_for_function(HEARD, arg="Trotzdem.")
        assert message(page, "Trotzdem.").count() == 0
    # Turned on again, she is heard again.
    open_panel(alice, "people")
    may_chat.click()
    interpreter.locator("#chat-form").wait_for()
    for page in (alice, citizen):
        knows(page, olga, "m.may.chat")
    say(interpreter, "Danke, weiter geht's.")
    open_chat(alice)
    for page in (alice, citizen):
        message(page, "Danke, weiter geht's.").wait_for()


def test_with_documents_turned_off_olga_sees_the_notice_and_the_others_refuse_hers(three, olga):
    alice, citizen, interpreter = three
    for page in three:
        open_chat(page)
    send_document(interpreter, "Uebersetzung.pdf", b"%PDF-1.7 erlaubt")
    for page in (alice, citizen):
        page.locator("#chat-log .transfer").filter(has_text="Uebersetzung.pdf").get_by_role(
            "link", name="Save"
        ).wait_for()
    open_panel(alice, "people")
    may_send = person(alice, olga).get_by_role("button", name="May send documents")

    may_send.click()

    interpreter.locator("#documents-off").wait_for()
    assert interpreter.locator("#documents").is_hidden()
    assert interpreter.locator("#chat-form").is_visible(), "the chat is still allowed"
    assert member_row(olga).may_send_documents is False
    for page in (alice, citizen):
        knows(page, olga, "!m.may.documents")
    open_chat(alice)
    interpreter.evaluate(LISTEN, [None, "files"])
    header = {"v": 1, "type": "file", "id": "g1", "name": "Nachgereicht.pdf", "size": 4}
    end = {"v": 1, "type": "end", "id": "g1"}
    items = [json.dumps({**header, "mime": "application/pdf"}), [1, 2, 3, 4], json.dumps(end)]
    interpreter.evaluate(SEND_RAW, [None, "files", items])

    # Both receivers refuse it at the header and tell her page to stop.
    interpreter.wait_for_function("() => window.heard.length === 2")
    answers = [json.loads(answer) for answer in interpreter.evaluate("window.heard")]
    assert answers == [{"v": 1, "type": "cancel", "id": "g1"}] * 2
    for page in (alice, citizen):
        log = page.locator("#chat-log")
        log.get_by_text(REFUSED).wait_for()
        assert log.locator(".transfer").filter(has_text="Nachgereicht.pdf").count() == 0


def test_revoking_olgas_documents_stops_the_one_under_way_on_every_page(three, olga):
    alice, citizen, interpreter = three
    for page in (alice, citizen):
        open_chat(page)
    interpreter.evaluate(LISTEN, [None, "files"])
    header = {"v": 1, "type": "file", "id": "r1", "name": "Halb.pdf", "size": 40_000}
    items = [json.dumps({**header, "mime": "application/pdf"}), list(range(200)) * 50]
    interpreter.evaluate(SEND_RAW, [None, "files", items])
    for page in (alice, citizen):
        arriving = page.locator("#chat-log .transfer").filter(has_text="Halb.pdf")
        arriving.locator("progress[value='10000']").wait_for()

    open_panel(alice, "people")
    person(alice, olga).get_by_role("button", name="May send documents").click()

    # Both receivers stop at once and tell her page; what was received is not kept.
    interpreter.wait_for_function("() => window.heard.length === 2")
    answers = [json.loads(answer) for answer in interpreter.evaluate("window.heard")]
    assert answers == [{"v": 1, "type": "cancel", "id": "r1"}] * 2
    for page in (alice, citizen):
        arriving = open_chat(page).locator(".transfer").filter(has_text="Halb.pdf")
        assert arriving.locator(".document-state").text_content() == "Cancelled"
        assert arriving.get_by_role("link", name="Save").count() == 0


def test_when_dana_declines_a_document_to_everybody_olga_still_gets_it(three):
    alice, citizen, interpreter = three
    content = os.urandom(20 * 1024 * 1024)  # large enough to decline while it arrives
    for page in (citizen, interpreter):
        open_chat(page)

    send_document(alice, "Akte.pdf", content)
    arriving = citizen.locator("#chat-log .transfer").filter(has_text="Akte.pdf")
    arriving.get_by_role("button", name="Cancel").click(timeout=60_000)

    arrived = interpreter.locator("#chat-log .transfer").filter(has_text="Akte.pdf")
    arrived.get_by_role("link", name="Save").wait_for(timeout=120_000)
    assert sha256(saved(interpreter, arrived)) == sha256(content)
    state = alice.locator("#chat-log .transfer .document-state")
    state.filter(has_text="Sent").wait_for(timeout=60_000)
    assert arriving.locator(".document-state").text_content() == "Cancelled"


# The chat loads when it is needed


def test_the_chat_is_fetched_only_when_dana_first_opens_its_panel(two, recorders):
    alice, citizen = two
    dana = recorders[1]
    assert dana.requests, "the requests were recorded"
    assert not any(dana.fetched(module) for module in CHAT_MODULES)
    assert citizen.evaluate("() => window.videoterminPeers.size") == 1

    open_chat(citizen)

    # (The browser's requests are recorded while Playwright waits for the page, so after.)
    citizen.wait_for_function(
        """(modules) => modules.every((m) => performance.getEntriesByType('resource')
            .some((entry) => entry.name.split('?')[0].endsWith(m)))""",
        arg=list(CHAT_MODULES),
    )
    assert all(dana.fetched(module) for module in CHAT_MODULES)


def test_the_chat_is_fetched_when_the_first_message_arrives_and_shows_it(two, recorders):
    alice, citizen = two
    dana = recorders[1]
    assert not any(dana.fetched(module) for module in CHAT_MODULES)

    say(alice, "Können Sie mich hören?")

    citizen.locator("#chat-unread .count").filter(has_text="1").wait_for()
    assert all(dana.fetched(module) for module in CHAT_MODULES)
    open_chat(citizen)
    assert message(citizen, "Können Sie mich hören?").count() == 1


# What every message and document must be


def test_links_in_a_message_open_safely_and_markup_stays_text(two, server):
    alice, citizen = two
    dialogs: list = []
    for page in two:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    address = f"{server.url}/?bescheid=4711"

    say(citizen, f"Mein Bescheid steht hier: {address}.")
    say(alice, MARKUP)

    from_dana = message(alice, "Mein Bescheid")
    from_dana.wait_for()
    link = from_dana.get_by_role("link")
    assert link.text_content() == address  # the full stop after it is not part of it
    assert link.get_attribute("href") == address
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener noreferrer"
    with alice.context.expect_page() as opened:
        link.click()
    assert opened.value.evaluate("window.opener") is None
    reply = message(citizen, "alert(1)")
    reply.wait_for()
    assert reply.locator(".text").text_content() == MARKUP
    assert citizen.locator("#chat-log img, #chat-log script").count() == 0
    assert dialogs == []


def test_a_message_over_the_length_limit_is_neither_sent_nor_accepted(two):
    alice, citizen = two
    alice_log = open_chat(alice)
    open_chat(citizen)
    box = citizen.get_by_label("Your message")
    assert box.get_attribute("maxlength") == "2000"

    # Script can put more into the box than typing can; sending still refuses it.
    box.evaluate("(box, text) => { box.value = text; }", "x" * 2001)
    box.press("Enter")
    citizen.get_by_text("The message is too long").wait_for()
    assert box.input_value() == "x" * 2001, "the refused text stays for shortening"
    say(citizen, "Kurz und gut.")
    alice_log.get_by_text("Kurz und gut.").wait_for()
    # A browser that ignores the limit: Dana's page drops what is too long.
    too_long = {"v": 1, "type": "message", "text": "y" * 2001}
    just_right = {"v": 1, "type": "message", "text": "z" * 2000}
    alice.evaluate(SEND_RAW, [None, "chat", [json.dumps(too_long), json.dumps(just_right)]])
    message(citizen, "zzz").wait_for()

    assert alice_log.locator(".chat-message").count() == 1
    assert message(citizen, "yyy").count() == 0


def test_dana_sees_how_many_messages_she_has_not_read_until_she_opens_the_chat(two):
    alice, citizen = two
    badge = citizen.locator("#chat-unread")
    assert badge.is_hidden()

    say(alice, "Haben Sie den Bescheid dabei?")
    say(alice, "Dann schauen wir ihn gemeinsam an.")

    badge.locator(".count").filter(has_text="2").wait_for()
    assert badge.locator(".label").text_content().strip().startswith("2")
    assert "2" in citizen.locator("#open-chat").evaluate("el => el.textContent")
    announced = citizen.locator("#chat-announce")
    expect(announced).to_have_text("New message from Alice Berger (counselor)")
    assert citizen.locator("#chat-log").get_attribute("role") == "log"
    citizen.locator("#open-chat").click()
    badge.wait_for(state="hidden")
    assert citizen.locator("#chat-log .chat-message").count() == 2


def test_a_message_that_arrives_while_danas_tab_is_in_the_background_counts_as_unread(two):
    alice, citizen = two
    open_chat(citizen)
    badge = citizen.locator("#chat-unread")
    citizen.evaluate(HIDE_TAB, True)

    say(alice, "Sind Sie noch da?")

    badge.locator(".count").filter(has_text="1").wait_for()
    citizen.evaluate(HIDE_TAB, False)
    badge.wait_for(state="hidden")
    assert citizen.locator("#chat-log").get_by_text("Sind Sie noch da?").is_visible()


def test_a_document_from_alice_arrives_at_dana_and_olga_byte_identical_and_never_at_the_server(
    three, recorders
):
    alice, citizen, interpreter = three
    content = os.urandom(300 * 1024)

    send_document(alice, "Bescheid-4711.pdf", content)

    for page in (citizen, interpreter):
        page.locator("#chat-unread .count").filter(has_text="1").wait_for()
        log = open_chat(page)
        arrived = log.locator(".transfer").filter(has_text="Bescheid-4711.pdf")
        arrived.get_by_role("link", name="Save").wait_for()
        assert arrived.locator(".who").text_content() == "Alice Berger (counselor)"
        assert arrived.locator("progress").evaluate("p => p.value === p.max")
        assert sha256(saved(page, arrived)) == sha256(content)
    alice.locator("#chat-log .transfer .document-state").filter(has_text="Sent").wait_for()
    assert not seen_by_server(recorders, "Bescheid-4711")


def test_a_document_to_dana_alone_reaches_only_her(three):
    alice, citizen, interpreter = three
    open_chat(interpreter)
    open_chat(alice)
    alice.locator("#chat-to").select_option(label="Dana Yilmaz (citizen)")
    content = os.urandom(40 * 1024)

    send_document(alice, "Nur-fuer-Dana.pdf", content)
    alice.locator("#chat-to").select_option(label="Everybody")
    say(alice, "Das Dokument ist unterwegs.")

    arrived = open_chat(citizen).locator(".transfer").filter(has_text="Nur-fuer-Dana.pdf")
    arrived.get_by_role("link", name="Save").wait_for()
    assert sha256(saved(citizen, arrived)) == sha256(content)
    message(interpreter, "Das Dokument ist unterwegs.").wait_for()
    assert interpreter.locator("#chat-log .transfer").count() == 0
    assert alice.locator("#chat-log .transfer .who").text_content() == (
        "Alice Berger (you) → Dana Yilmaz (citizen)"
    )


@pytest.fixture
def one_megabyte(settings):
    """Documents of at most 1 MB, set before any page is rendered."""
    settings.MAX_DOCUMENT_MB = 1


def test_a_forbidden_kind_of_file_and_a_too_large_one_are_refused_before_anything_is_sent(
    one_megabyte, two
):
    alice, citizen = two
    open_chat(citizen)
    choose = citizen.get_by_label("Send a document")
    error = citizen.locator("#document-error")
    limit = int(citizen.locator("#chat").get_attribute("data-max-document-mb"))
    assert limit == 1

    choose.set_input_files(
        files=[{"name": "rechnung.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
    )
    error.filter(has_text="This kind of file cannot be sent").wait_for()
    choose.set_input_files(
        files=[{"name": "seite.pdf", "mimeType": "text/html", "buffer": b"<script></script>"}]
    )
    error.filter(has_text="This kind of file cannot be sent").wait_for()
    too_large = bytes(limit * 1024 * 1024 + 1)
    choose.set_input_files(
        files=[{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": too_large}]
    )
    error.filter(has_text=f"at most {limit} MB").wait_for()
    nothing_sent = citizen.evaluate(FILES_SENT)
    # The same channel does carry an allowed document, so the count above could have risen.
    choose.set_input_files(
        files=[{"name": "passbild.png", "mimeType": "image/png", "buffer": bytes(1024 * 1024)}]
    )
    open_chat(alice).get_by_role("link", name="Save").wait_for()

    assert nothing_sent == 0
    assert citizen.evaluate(FILES_SENT) > 0
    assert error.is_hidden()
    assert alice.locator("#chat-log .transfer").count() == 1
    assert citizen.get_by_text(f"up to {limit} MB").is_visible()


def test_dana_refuses_a_document_that_alices_browser_should_not_have_sent(two):
    alice, citizen = two
    log = open_chat(citizen)
    header = {
        "v": 1,
        "type": "file",
        "id": "a1",
        "name": "tool.exe",
        "size": 2,
        "mime": "application/x-msdownload",
    }
    limit = int(citizen.locator("#chat").get_attribute("data-max-document-mb"))
    too_big = {
        **header,
        "id": "a2",
        "name": "big.pdf",
        "mime": "application/pdf",
        "size": (limit + 1) * 1024 * 1024,
    }
    disguised = {**header, "id": "a3", "name": "brief.pdf", "mime": "text/html"}
    alice.evaluate(LISTEN, [None, "files"])

    alice.evaluate(
        SEND_RAW,
        [None, "files", [json.dumps(m) for m in (header, too_big, disguised)] + [[77, 90]]],
    )

    alice.wait_for_function("() => window.heard.length === 3")
    answers = [json.loads(answer) for answer in alice.evaluate("window.heard")]
    assert answers == [{"v": 1, "type": "cancel", "id": i} for i in ("a1", "a2", "a3")]
    assert log.get_by_text(REFUSED).count() == 3
    assert log.locator(".transfer").count() == 0


def test_dana_can_cancel_a_document_while_it_arrives(two):
    alice, citizen = two
    log = open_chat(citizen)
    header = {
        "v": 1,
        "type": "file",
        "id": "b1",
        "name": "Lebenslauf.docx",
        "size": 40_000,
        "mime": "",
    }
    alice.evaluate(LISTEN, [None, "files"])
    alice.evaluate(SEND_RAW, [None, "files", [json.dumps(header), list(range(200)) * 50]])
    arriving = log.locator(".transfer").filter(has_text="Lebenslauf.docx")
    arriving.locator("progress").and_(citizen.locator("[value='10000']")).wait_for()

    arriving.get_by_role("button", name="Cancel").click()
    alice.wait_for_function("() => window.heard.length === 1")
    # The rest of the document and its end marker, already on their way, are ignored.
    rest = [list(range(100)) * 300, json.dumps({"v": 1, "type": "end", "id": "b1"})]
    alice.evaluate(SEND_RAW, [None, "files", rest])
    say(alice, "Schon gut.")
    log.get_by_text("Schon gut.").wait_for()

    assert json.loads(alice.evaluate("window.heard[0]")) == {"v": 1, "type": "cancel", "id": "b1"}
    assert arriving.locator(".document-state").text_content() == "Cancelled"
    assert arriving.get_by_role("link", name="Save").count() == 0
    assert arriving.locator("progress").count() == 0
