"""The citizen's whole way, from the personal link into the call and through its controls, by
keyboard alone, with the focus always visible where it is."""

import pytest
from tests.browser.room import admit, open_member_room, open_panel, open_staff_room
from tests.personas import agree

pytestmark = pytest.mark.browser

MOST_TABS = 60
FOCUS_SHOWN = """(el) => {
    const style = getComputedStyle(el);
    return el === document.activeElement && el.matches(':focus-visible')
        && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
}"""


def tab_to(page, selector: str) -> None:
    """Press Tab until the element has the focus, and see that the focus shows."""
    target = page.locator(selector)
    target.wait_for()
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("(el) => el === document.activeElement"):
            assert target.evaluate(FOCUS_SHOWN), f"the focus on {selector} does not show"
            return
    raise AssertionError(f"{selector} is not reached by Tab within {MOST_TABS} presses")


def test_the_citizen_goes_from_the_link_into_the_call_and_chats_by_keyboard_alone(
    booking, new_context
):
    citizen = booking.citizen
    page = new_context().new_page()
    page.goto(f"/j/{booking.token}/")

    tab_to(page, "button[name=decision][value=accept]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/a/{citizen.public_id}/check/")

    tab_to(page, "#enter-link")
    page.keyboard.press("Enter")
    page.locator("#room[data-view='waiting']").wait_for()

    alice = open_staff_room(new_context(), booking.appointment)
    admit(alice, citizen, page)

    tab_to(page, "#toggle-microphone")
    page.keyboard.press("Space")
    assert page.locator("#toggle-microphone").get_attribute("aria-pressed") == "true"

    tab_to(page, "#open-chat")
    page.keyboard.press("Enter")
    page.locator("#panel-chat").wait_for()
    tab_to(page, "#chat-input")
    page.keyboard.type("Guten Tag, ich höre Sie.")
    page.keyboard.press("Enter")

    open_panel(alice, "chat")
    alice.locator("#chat-log").get_by_text("Guten Tag, ich höre Sie.").wait_for()


def press(page, selector: str, key: str = "Enter") -> None:
    tab_to(page, selector)
    page.keyboard.press(key)


def test_every_control_of_the_call_works_by_keyboard_and_each_panel_gives_the_focus_back(
    booking, new_context
):
    citizen = agree(booking.citizen)
    page = open_member_room(new_context(), booking.token, citizen)
    alice = open_staff_room(new_context(), booking.appointment)
    admit(alice, citizen, page)
    page.locator("body").click(position={"x": 1, "y": 1})

    press(page, "#toggle-camera", "Space")
    assert page.locator("#toggle-camera").get_attribute("aria-pressed") == "true"
    press(page, "#toggle-camera")
    assert page.locator("#toggle-camera").get_attribute("aria-pressed") == "false"

    for panel in ("people", "chat", "settings"):
        press(page, f"#open-{panel}")
        page.locator(f"#panel-{panel}").wait_for()
        assert page.evaluate("document.activeElement.id") == f"{panel}-title"
        page.keyboard.press("Escape")
        page.locator(f"#panel-{panel}").wait_for(state="hidden")
        assert page.evaluate("document.activeElement.id") == f"open-{panel}"

    # The quality modes are one radio group: the arrow keys choose within it.
    press(page, "#open-settings")
    tab_to(page, "input[name=quality-mode][value=high]")
    page.keyboard.press("ArrowDown")
    assert page.locator("input[name=quality-mode][value=saver]").is_checked()
    page.keyboard.press("Escape")

    # Leaving asks first: Escape keeps her in the call, "Yes" by keyboard leaves.
    press(page, "#hangup")
    page.locator("dialog#ask[open]").wait_for()
    assert page.evaluate("document.activeElement.id") == "ask-no"
    page.keyboard.press("Escape")
    page.locator("dialog#ask[open]").wait_for(state="detached")
    assert page.locator("#room").get_attribute("data-view") == "call"
    assert page.evaluate("document.activeElement.id") == "hangup"
    page.keyboard.press("Enter")
    page.locator("dialog#ask[open]").wait_for()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "ask-yes"
    page.keyboard.press("Enter")
    page.wait_for_url("**/survey/**")


def test_the_counselor_admits_confirms_the_identity_allows_and_ends_by_keyboard(
    booking, new_context
):
    citizen = agree(booking.citizen)
    page = open_member_room(new_context(), booking.token, citizen)
    alice = open_staff_room(new_context(), booking.appointment)
    open_panel(alice, "people")
    entry = f"#people-list [data-member='{citizen.public_id}']"

    press(alice, f"{entry} button.admit")
    page.locator("#room[data-view='call']").wait_for()
    press(alice, f"{entry} button.identity")
    alice.locator(f"{entry} .identity-note").filter(has_text="identity checked").wait_for()
    screen = f"{entry} button.permission[data-permission=screen]"
    before = alice.locator(screen).get_attribute("aria-pressed")
    press(alice, screen)
    alice.wait_for_function(
        "([selector, before]) => document.querySelector(selector).ariaPressed !== before",
        arg=[screen, before],
    )

    press(alice, "#end")
    alice.locator("dialog#ask[open]").wait_for()
    alice.keyboard.press("Shift+Tab")
    assert alice.evaluate("document.activeElement.id") == "ask-yes"
    alice.keyboard.press("Enter")
    page.wait_for_url("**/survey/**")
    booking.appointment.refresh_from_db()
    assert booking.appointment.call_ended_at is not None
    assert booking.appointment.members.get(pk=citizen.pk).identity_checked_at is not None
