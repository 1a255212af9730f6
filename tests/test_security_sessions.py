"""Sessions: opening a personal link or deciding on the consent text gives the browser a new
session key, so a session planted beforehand opens nothing; a corrected address ends what the
old link opened."""

from django.conf import settings
from django.test import Client
from django.urls import reverse
from tests.personas import agree

from videotermin.appointments import services
from videotermin.consent import services as consent


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_a_session_planted_before_the_link_is_opened_is_not_the_one_that_opens_it(booking):
    browser = Client()
    browser.get(reverse("journey:home"))
    browser.session.save()
    planted = browser.session.session_key
    browser.cookies[settings.SESSION_COOKIE_NAME] = planted

    browser.get(f"/j/{booking.token}/")

    assert session_key(browser) != planted
    # The planted key, replayed by whoever planted it, opens none of Dana's pages.
    stranger = Client()
    stranger.cookies[settings.SESSION_COOKIE_NAME] = planted
    start = reverse("journey:start", args=[booking.citizen.public_id])
    assert stranger.get(start).status_code == 403
    assert browser.get(start).status_code == 200


def test_deciding_on_the_consent_text_gives_a_new_session_key(booking, agency):
    browser = Client()
    browser.get(f"/j/{booking.token}/")
    before = session_key(browser)
    text = consent.current_text(agency, booking.citizen.language)
    browser.post(
        reverse("journey:consent", args=[booking.citizen.public_id]),
        {"decision": "accept", "text": text.pk},
    )
    assert session_key(browser) != before
    old = Client()
    old.cookies[settings.SESSION_COOKIE_NAME] = before
    check = reverse("journey:check", args=[booking.citizen.public_id])
    assert old.get(check).status_code == 403
    assert browser.get(check).status_code == 200


def test_a_corrected_address_ends_the_old_link_and_what_it_opened(interpreter_booking, counselor):
    olga, token = interpreter_booking.extras[0]
    agree(olga)
    wrong_inbox = Client()
    wrong_inbox.get(f"/j/{token}/")
    start = reverse("journey:start", args=[olga.public_id])
    assert wrong_inbox.get(start).status_code == 200

    services.update_member(olga, by=counselor, email="olga.k@example.org")

    assert wrong_inbox.get(f"/j/{token}/").status_code == 410
    assert wrong_inbox.get(start).status_code == 410
