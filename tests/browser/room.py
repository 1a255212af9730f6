"""How a person opens the consultation room in a real browser, and what the tests read there."""

from django.urls import reverse
from tests.browser.conftest import log_in, wait_for_media, wait_until

from videotermin.appointments.models import Member


def open_member_room(context, token: str, member: Member):
    """Open the personal link (authorises this browser), then the consultation room."""
    page = context.new_page()
    page.goto(f"/j/{token}/")
    page.goto(reverse("journey:room", args=[member.public_id]))
    page.locator("#room[data-view='waiting'], #room[data-view='call']").wait_for()
    return page


def open_staff_room(context, appointment, username: str = "alice"):
    """Sign in as a staff member and open the appointment's room from the workspace."""
    page = context.new_page()
    log_in(page, username)
    page.goto(reverse("staff:room", args=[appointment.public_id]))
    page.locator("#room[data-view='call']").wait_for()
    return page


def person(page, member: Member):
    """The member's entry in the page's people panel."""
    return page.locator(f"#people-list [data-member='{member.public_id}']")


def open_panel(page, name: str) -> None:
    """Open a panel of the call stage unless it is open (staff pages open people by themselves)."""
    page.locator("#room:not([data-view='connecting'])").wait_for()
    page.wait_for_timeout(100)
    button = page.locator(f"#open-{name}")
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    page.locator(f"#panel-{name}").wait_for()


def admit(host, member: Member, page=None) -> None:
    """The host admits the member from the people panel; the member's page shows the call."""
    open_panel(host, "people")
    person(host, member).get_by_role("button", name="Admit").click()
    if page is not None:
        in_call(page)


def in_call(page) -> None:
    page.locator("#room[data-view='call']").wait_for()


def answer(page, yes: bool = True) -> None:
    """Answer the page's own question dialog (leave, end, remove ...)."""
    dialog = page.locator("dialog#ask[open]")
    dialog.wait_for()
    dialog.locator("#ask-yes" if yes else "button[value='no']").click()


def member_row(member: Member) -> Member:
    return Member.objects.get(pk=member.pk)


def session_of(member: Member, other_than: str | None = None) -> str:
    """The member's current connection, once there is one (and it is not `other_than`)."""
    return wait_until(
        lambda: (s := member_row(member).session) and s != other_than and s,
        message=f"a connection of {member}",
    )


def peers_of(page) -> list[str]:
    """The remote sessions the page has a peer connection with."""
    return page.evaluate("[...window.videoterminPeers.keys()]")


def meet(new_context, appointment, *invited: tuple[str, Member], colleagues=()) -> list:
    """Alice opens the room and admits every invited (token, member) in turn; colleagues join.
    Returns the pages, Alice's first, once media flows on every pair."""
    alice = open_staff_room(new_context(), appointment)
    pages = [alice]
    for token, member in invited:
        page = open_member_room(new_context(), token, member)
        admit(alice, member, page)
        pages.append(page)
    pages += [open_staff_room(new_context(), appointment, username) for username in colleagues]
    for page in pages:
        try:
            wait_for_media(page, peers=len(pages) - 1, timeout=60)
        except AssertionError as error:
            # On a starved machine pages measure round trips of many seconds and step down to
            # audio only, and their peers then send them no video: say so.
            raise AssertionError(f"{error}; quality: {page.evaluate(QUALITY_STATE)}") from None
    return pages


# The page's own quality mode, its last sample, and what each peer receives at most.
QUALITY_STATE = """() => {
    const quality = window.videoterminQuality;
    return {mode: quality.current, last: quality.last,
        caps: [...window.videoterminPeers.values()].map((peer) => quality.capFor(peer))};
}"""


CHANNELS_OPEN = """(count) => {
    const peers = [...window.videoterminPeers.values()];
    return peers.length === count && peers.every(
        (peer) => [peer.chat, peer.files, peer.control].every((c) => c.readyState === 'open'));
}"""


def wait_for_channels(page, peers: int = 1) -> None:
    """Wait until the page's chat, files and control channels are open to `peers` others."""
    page.wait_for_function(CHANNELS_OPEN, arg=peers, timeout=60_000)


def knows(page, member: Member, condition: str) -> None:
    """Wait until the page's room knows the member so: `condition` is JavaScript about `m`."""
    page.wait_for_function(
        f"(id) => {{ const m = window.videoterminRoom.member(id); return !!m && ({condition}); }}",
        arg=str(member.public_id),
        timeout=30_000,
    )
