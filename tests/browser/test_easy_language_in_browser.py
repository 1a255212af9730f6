"""N6 on a phone: the way to the Leichte Sprache page is in the first screen of the start page,
and the page itself fits the phone's width in large type."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_on_a_phone_the_link_is_in_the_first_screen_and_opens_the_german_page(
    new_context, server, booking
):
    booking.citizen.language = "ar"
    booking.citizen.save(update_fields=["language"])
    page = new_context(viewport=PHONE).new_page()
    page.goto(reverse("journey:link", args=[booking.token]))
    link = page.locator(".easy-link")
    box = link.bounding_box()
    assert box and box["y"] + box["height"] <= PHONE["height"]
    link.click()
    page.wait_for_url(f"**{reverse('journey:easy_participant', args=[booking.citizen.public_id])}")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
    assert size >= 19
