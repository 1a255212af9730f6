"""The citizen's pages on a small phone, in languages with long words and in right-to-left:
nothing scrolls sideways at 320 CSS px, and the appointment's facts are on the first screen."""

import pytest
from django.urls import reverse
from tests.personas import agree

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
NARROW = {"width": 320, "height": 640}
WIDTH = "document.documentElement.scrollWidth"


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


@pytest.mark.parametrize("language", ["de", "uk", "ar", "fa", "ro"])
def test_no_citizen_page_scrolls_sideways_at_320_pixels(book, new_context, language):
    booking = book(language=language)
    page = new_context(viewport=NARROW).new_page()
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
        if page.evaluate(WIDTH) > NARROW["width"]:
            wide[path] = page.evaluate(WIDTH)
    assert not wide
