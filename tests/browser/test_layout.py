"""The citizen's pages on a small phone, in languages with long words and in right-to-left:
nothing scrolls sideways at 320 CSS px, and the appointment's facts are on the first screen."""

from pathlib import Path

import pytest
from django.urls import reverse
from tests.personas import agree

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
NARROW = {"width": 320, "height": 640}
WIDTH = "document.documentElement.scrollWidth"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.mark.parametrize("language", ["de", "uk", "ar"])
def test_the_appointments_facts_are_on_the_first_screen_of_a_phone(book, new_context, language):
    booking = book(language=language)
    page = new_context(viewport=PHONE).new_page()
    page.goto(f"/j/{booking.token}/")
    assert page.evaluate(WIDTH) <= PHONE["width"]
    facts = page.locator(".appointment-summary")
    box = facts.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= PHONE["height"], "the facts end below the first screen"
    # Every fact is there, the contact person last.
    assert "Alice Berger" in facts.locator("dd").last.inner_text()


def sideways(page, booking, language: str, width: int) -> dict[str, int]:
    """The citizen's pages, from the link to the room, that are wider than `width`."""
    page.goto(f"/j/{booking.token}/")
    member = agree(booking.citizen)
    pages = [
        reverse("journey:start", args=[member.public_id]),
        reverse("journey:check", args=[member.public_id]),
        reverse("journey:privacy", args=[booking.appointment.agency.public_id, language]),
        reverse("journey:withdraw", args=[member.public_id]),
        reverse("journey:room", args=[member.public_id]),
    ]
    wide = {}
    for path in pages:
        page.goto(path)
        page.wait_for_load_state()
        if page.evaluate(WIDTH) > width:
            wide[path] = page.evaluate(WIDTH)
    return wide


@pytest.mark.parametrize("language", ["de", "uk", "ar", "fa", "ro"])
def test_no_citizen_page_scrolls_sideways_at_320_pixels(book, new_context, language):
    booking = book(language=language)
    page = new_context(viewport=NARROW).new_page()
    assert not sideways(page, booking, language, NARROW["width"])


@pytest.mark.parametrize("language", ["de", "ar"])
def test_no_citizen_page_scrolls_sideways_on_a_laptop_zoomed_to_200_percent(
    book, new_context, language
):
    # Zooming a 1366x768 window to 200 % leaves 683x384 CSS pixels at twice the pixel density.
    zoomed = {"width": 683, "height": 384}
    booking = book(language=language)
    page = new_context(viewport=zoomed, device_scale_factor=2).new_page()
    assert not sideways(page, booking, language, zoomed["width"])
    # In the waiting room the own picture and the way out are both on the screen.
    hangup = page.locator("#hangup").bounding_box()
    assert hangup is not None and hangup["y"] + hangup["height"] <= zoomed["height"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"waiting-{language}-zoom-200.png")


@pytest.mark.parametrize("language", ["de", "uk", "ar"])
def test_the_consent_is_a_short_summary_with_the_decision_close_and_the_full_text_on_request(
    book, new_context, language
):
    booking = book(language=language)
    page = new_context(viewport=PHONE).new_page()
    page.goto(f"/j/{booking.token}/")
    summary = page.locator(".consent-summary")
    assert summary.locator(".points li").count() == 6
    full_text = page.locator(".consent-full")
    assert not full_text.locator(".consent").is_visible(), "the full text is folded at first"
    agree = page.locator("button[name=decision][value=accept]")
    top = agree.bounding_box()["y"] + page.evaluate("window.scrollY")
    assert top < 3 * PHONE["height"], f"'I agree' is {top / PHONE['height']:.1f} screens down"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"start-{language}-360x640.png", full_page=True)

    full_text.locator("summary").click()
    assert full_text.locator(".consent").is_visible()
    # The full text says what the agency published, in the participant's language.
    assert full_text.get_attribute("open") is not None
    assert page.evaluate(WIDTH) <= PHONE["width"]
    page.set_viewport_size({"width": 1366, "height": 768})
    page.screenshot(path=SCREENSHOTS / f"start-{language}-1366x768-full-text.png", full_page=True)


SMALL_TARGETS = """() => [...document.querySelectorAll(
    'button, a.button, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, '
    + 'summary, label:has(> input[type=radio]), label:has(> input[type=checkbox])')]
    .filter((el) => el.checkVisibility())
    .map((el) => ({el, box: el.getBoundingClientRect()}))
    .filter(({box}) => box.width < 44 || box.height < 44)
    .map(({el, box}) => `${el.id || el.className || el.tagName}: ${box.width}x${box.height}`)
"""


def test_everything_a_citizen_touches_is_at_least_44_pixels_each_way(book, new_context):
    booking = book(language="de")
    page = new_context(viewport={"width": 390, "height": 844}, has_touch=True).new_page()
    page.goto(f"/j/{booking.token}/")
    page.locator(".consent-full summary").click()
    small = {"start": page.evaluate(SMALL_TARGETS)}
    member = agree(booking.citizen)
    page.goto(reverse("journey:check", args=[member.public_id]))
    small["check"] = page.evaluate(SMALL_TARGETS)
    page.goto(reverse("journey:room", args=[member.public_id]))
    page.locator("#room[data-view='waiting']").wait_for()
    for panel in ("people", "settings"):
        page.locator(f"#open-{panel}").click()
        small[panel] = page.evaluate(SMALL_TARGETS)
    assert not any(small.values()), small


def test_nothing_moves_for_a_person_who_asked_for_reduced_motion(book, new_context):
    booking = book(language="de")
    page = new_context(reduced_motion="reduce").new_page()
    page.goto(f"/j/{booking.token}/")
    member = agree(booking.citizen)
    page.goto(reverse("journey:room", args=[member.public_id]))
    page.locator("#room[data-view='waiting']").wait_for()
    page.locator("#open-settings").click()
    moving = page.evaluate("""() => [...document.querySelectorAll('*')].filter((el) => {
        const style = getComputedStyle(el);
        const long = (value) => value.split(',').some((part) => parseFloat(part) > 0);
        return long(style.transitionDuration) || long(style.animationDuration);
    }).map((el) => el.id || el.className || el.tagName)""")
    assert moving == []
    assert page.evaluate("document.getAnimations().length") == 0
