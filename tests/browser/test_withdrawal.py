"""Dana withdraws her consent in the middle of the call: she is out at once, Alice sees why, and
nothing of her devices is left in the database."""

import pytest
from tests.browser.conftest import wait_for_media
from tests.browser.room import (
    admit,
    member_row,
    open_member_room,
    open_panel,
    open_staff_room,
    person,
)

pytestmark = pytest.mark.browser

# A member's entry in the people panel, marked as having withdrawn their consent.
WITHDRAWN = "#people-list [data-member='{}'][data-withdrawn='true']"


def test_a_participant_withdraws_consent_from_the_call(new_context, consented):
    dana = consented.citizen
    alice = open_staff_room(new_context(), consented.appointment)
    page = open_member_room(new_context(), consented.token, dana)
    admit(alice, dana, page)
    wait_for_media(page, timeout=60)
    assert member_row(dana).browser, "the room learnt her browser"

    # From the call's settings to the confirmation page, in her language (German).
    open_panel(page, "settings")
    page.locator("#withdraw-consent").click()
    page.get_by_role("heading", name="Einwilligung widerrufen").wait_for()
    assert "Telefon 0800 4 555500" in page.content()  # the agency's alternatives
    page.get_by_role("button", name="Einwilligung jetzt widerrufen").click()
    page.get_by_role("heading", name="Ihre Einwilligung wurde widerrufen").wait_for()
    assert "kein Nachteil" in page.content()

    # Alice sees Dana gone, marked as having withdrawn.
    entry = person(alice, dana)
    alice.locator(WITHDRAWN.format(dana.public_id) + "[data-presence='left']").wait_for()
    assert entry.locator(".withdrawn-note").is_visible()
    alice.wait_for_function("() => window.videoterminPeers.size === 0")

    # Her link no longer opens, in this browser or any other.
    response = page.goto(f"/j/{consented.token}/")
    assert response.status == 410
    again = new_context().new_page()
    response = again.goto(f"/j/{consented.token}/")
    assert response.status == 410
    assert "Ihre Einwilligung wurde widerrufen" in again.content()

    row = member_row(dana)
    assert row.withdrawn_at is not None
    assert (row.check_result, row.check_details, row.browser, row.operating_system) == (
        "",
        {},
        "",
        "",
    )
    assert not (row.camera_on or row.microphone_on or row.screen_on)
    assert not row.links.filter(revoked_at__isnull=True).exists()


def test_a_withdrawal_in_another_tab_closes_the_room_page(new_context, consented):
    dana = consented.citizen
    alice = open_staff_room(new_context(), consented.appointment)
    context = new_context()
    page = open_member_room(context, consented.token, dana)
    admit(alice, dana, page)

    other = context.new_page()
    other.goto(f"/a/{dana.public_id}/withdraw/")
    other.get_by_role("button", name="Einwilligung jetzt widerrufen").click()
    other.get_by_role("heading", name="Ihre Einwilligung wurde widerrufen").wait_for()

    # The room page is told (closed{withdrawn}) and goes to the page that confirms it.
    page.get_by_role("heading", name="Ihre Einwilligung wurde widerrufen").wait_for()
    alice.locator(WITHDRAWN.format(dana.public_id)).wait_for()
