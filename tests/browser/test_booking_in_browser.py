"""Self-service booking in a real browser (J14, N6): Erik opens his booking link on a 390 px phone,
chooses a free time with the keyboard alone, books it and lands on his appointment's start page;
nothing scrolls sideways (down to 320 px), every time is a 44 px target, and axe-core finds
nothing. Screenshots at 390x844 and 1366x768 go to var/screenshots/."""

from datetime import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from tests.booking_helpers import invite, publish, turn_on_page
from tests.browser.test_accessibility import violations

from videotermin.appointments.models import Appointment
from videotermin.booking import slots

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
SCREENSHOTS = Path(django_settings.VAR_DIR) / "screenshots"
ACTIVE = "() => ({name: document.activeElement.name || '', id: document.activeElement.id || ''})"


def tab_to(page, condition, presses: int = 40) -> dict:
    """Press Tab until the focused element matches; fail after `presses` presses."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        active = page.evaluate(ACTIVE)
        if condition(active):
            return active
    raise AssertionError("the element was never reached by Tab")


def test_erik_books_a_slot_by_keyboard_on_a_phone_and_lands_on_his_start_page(
    server, new_context, agency, location, counselor, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    publish(agency, location, counselor, starts=time(8), ends=time(12), horizon_days=10)
    _invitation, token = invite(agency, language="de")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="de-DE")
    page = phone.new_page()
    page.goto(reverse("booking:invitation_link", args=[token]))
    page.wait_for_load_state()
    assert "/booking/invitation/" in page.url
    page.screenshot(path=str(SCREENSHOTS / "booking-390x844.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    boxes = page.eval_on_selector_all(
        "label.slot", "els => els.map(e => e.getBoundingClientRect().toJSON())"
    )
    assert boxes and all(b["height"] >= 44 and b["width"] >= 44 for b in boxes)
    assert violations(page) == []
    for width in (320, 360):
        page.set_viewport_size({"width": width, "height": 640})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.set_viewport_size(PHONE)

    # Keyboard only: into the list of times, the second one, on to the button, Enter.
    tab_to(page, lambda active: active["name"] == "slot")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    chosen = page.eval_on_selector("input[name=slot]:checked", "e => e.value")
    tab_to(page, lambda active: active["id"] == "book-button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/a/*/")
    page.wait_for_load_state()

    appointment = Appointment.objects.get()
    citizen = appointment.citizen()
    assert page.url.endswith(reverse("journey:start", args=[citizen.public_id]))
    assert appointment.starts_at == slots.parse_key(chosen)[1]
    assert page.locator("h1").inner_text() == "Ihr Videotermin"
    assert page.locator(f"a[href='{reverse('booking:manage', args=[citizen.public_id])}']")
    page.screenshot(path=str(SCREENSHOTS / "booking-start-390x844.png"), full_page=True)

    # The same page on a desktop, for a second person.
    _invitation, token = invite(agency, language="ar", email="mila@example.org")
    desktop = new_context(viewport=DESKTOP).new_page()
    desktop.goto(reverse("booking:invitation_link", args=[token]))
    desktop.wait_for_load_state()
    assert desktop.locator("html").get_attribute("dir") == "rtl"
    assert chosen not in desktop.content()
    desktop.screenshot(path=str(SCREENSHOTS / "booking-ar-1366x768.png"))
    # The public booking page, with the person's details, on the phone.
    turn_on_page(agency)
    page.goto(reverse("booking:page", args=[agency.slug]))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOTS / "booking-page-390x844.png"), full_page=True)
    page.goto(reverse("booking:manage", args=[citizen.public_id]))
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / "booking-manage-1366x768.png"))
