"""The citizen's whole way, from the personal link into the call and through its controls, by
keyboard alone, with the focus always visible where it is."""

import pytest
from tests.browser.room import admit, open_panel, open_staff_room

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
