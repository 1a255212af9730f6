"""What a screen reader says: whatever happens out of the person's sight — waiting, being let
in, someone joining or leaving, a message or a document arriving while the chat is closed — is
put into a live region, and said again when the same words come twice."""

import re

import pytest
from tests.browser.conftest import wait_for_media, wait_until
from tests.browser.room import admit, answer, open_member_room, open_panel, open_staff_room
from tests.browser.test_chat_and_documents import say, send_document
from tests.personas import agree, interpreter_invitee

pytestmark = pytest.mark.browser

# Every change of a live region's words, as a screen reader would notice it: a region that is
# set to the words it already holds says nothing, so it is not recorded.
RECORD_ANNOUNCEMENTS = """
window.announced = [];
const LIVE = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
const last = new Map();
new MutationObserver((records) => {
    for (const record of records) {
        const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
        const region = node && node.closest(LIVE);
        if (!region) continue;
        const text = region.textContent.trim();
        if (last.get(region) === text) continue;
        last.set(region, text);
        if (text) window.announced.push({region: region.id, text});
    }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def announcements(page, pattern: str) -> list[str]:
    said = page.evaluate("window.announced")
    return [entry["text"] for entry in said if re.search(pattern, entry["text"])]


def hears(page, pattern: str, times: int = 1) -> None:
    wait_until(
        lambda: len(announcements(page, pattern)) >= times,
        message=f"{pattern!r} said {times}× (said: {page.evaluate('window.announced')})",
    )


@pytest.fixture
def invited(book):
    return book(language="en", extras=[interpreter_invitee()])


def listening_context(new_context):
    context = new_context()
    context.add_init_script(RECORD_ANNOUNCEMENTS)
    return context


def test_each_event_out_of_sight_is_announced_in_a_live_region(new_context, invited):
    dana, (olga, olgas_token) = agree(invited.citizen), invited.extras[0]
    agree(olga)
    citizen = open_member_room(listening_context(new_context), invited.token, dana)
    hears(citizen, r"^You will be let in shortly$")

    host = open_staff_room(listening_context(new_context), invited.appointment)
    hears(host, rf"^{re.escape(dana.name)} \(.+\) is waiting$")
    admit(host, dana, citizen)
    hears(citizen, r"^You have been let in\. The call is starting\.$")
    wait_for_media(citizen)

    interpreter = open_member_room(listening_context(new_context), olgas_token, olga)
    admit(host, olga, interpreter)
    hears(citizen, rf"^{re.escape(olga.name)} \(interpreter\) joined the call$")

    # The chat is closed on Dana's page: each message is announced, the same words twice too.
    say(host, "Good morning")
    hears(citizen, r"^New message from Alice Berger", times=1)
    say(host, "Can you hear me?")
    hears(citizen, r"^New message from Alice Berger", times=2)
    send_document(host, "form.pdf", b"%PDF-1.4 form")
    hears(citizen, r"^Alice Berger .*sends you a document$")

    open_panel(interpreter, "people")
    interpreter.locator("#hangup").click()
    answer(interpreter)
    hears(citizen, rf"^{re.escape(olga.name)} has left$")
    # Every announcement was in the page's one language and in a live region the page has.
    regions = {entry["region"] for entry in citizen.evaluate("window.announced")}
    assert regions <= {"status", "chat-announce", "quality-announce", "screen-status", "chat-log"}
