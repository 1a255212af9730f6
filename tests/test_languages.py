"""Which language a page speaks: the participant's through the whole journey, in twelve
languages with the right direction; staff pages in German or English only."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from tests.personas import agree

pytestmark = pytest.mark.django_db

CITIZEN_LANGUAGES = [code for code, _name in settings.LANGUAGES]
RIGHT_TO_LEFT = {"ar", "fa"}


def said(language: str, message: str) -> str:
    """The message as the page writes it in that language, and in no other."""
    with translation.override(language):
        text = translation.gettext(message)
    with translation.override("de"):
        german = translation.gettext(message)
    # A message missing in a catalogue falls back to German (the site's default language).
    foreign = {"de": {message}, "en": {german}}.get(language, {message, german})
    assert text not in foreign, f"{message!r} is not translated into {language}"
    return escape(text)


def html_tag(page: str) -> str:
    match = re.search(r"<html[^>]*>", page)
    assert match, "no <html> element"
    return match.group(0)


@pytest.mark.parametrize("language", CITIZEN_LANGUAGES)
def test_the_start_page_speaks_the_participants_language_in_its_direction(client, book, language):
    booking = book(language=language)
    client.get(f"/j/{booking.token}/")
    page = client.get(reverse("journey:start", args=[booking.citizen.public_id])).text
    direction = "rtl" if language in RIGHT_TO_LEFT else "ltr"
    assert html_tag(page) == f'<html lang="{language}" dir="{direction}">'
    assert said(language, "Your video appointment") in page
    assert said(language, "Device check") in page


@pytest.mark.parametrize("language", CITIZEN_LANGUAGES)
def test_the_invitation_goes_out_in_the_participants_language(
    book, language, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(language=language)
    (message,) = [m for m in mail.outbox if booking.citizen.email in m.to]
    html = next(body for body, kind in message.alternatives if kind == "text/html")
    direction = "rtl" if language in RIGHT_TO_LEFT else "ltr"
    assert f'lang="{language}"' in html and f'dir="{direction}"' in html
    assert said(language, "Your video consultation") in html
    assert said(language, "Kind regards") in message.body


def test_the_language_switch_names_every_language_in_itself(client, booking):
    client.get(f"/j/{booking.token}/")
    page = client.get(reverse("journey:start", args=[booking.citizen.public_id])).text
    for name in ("Deutsch", "English", "Türkçe", "العربيّة", "Українська", "Русский"):
        assert name in page
    for name in ("polski", "Română", "فارسی", "français", "español", "italiano"):
        assert name in page


@pytest.mark.parametrize(("accepted", "spoken"), [("tr", "de"), ("ar,en;q=0.8", "en")])
def test_staff_pages_speak_german_or_english_whatever_the_browser_prefers(
    client, counselor, accepted, spoken
):
    client.force_login(counselor)
    page = client.get(reverse("staff:day"), HTTP_ACCEPT_LANGUAGE=accepted).text
    assert html_tag(page) == f'<html lang="{spoken}" dir="ltr">'


def test_a_staff_page_stays_german_or_english_after_a_citizen_page_chose_turkish(client, counselor):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "tr"
    client.force_login(counselor)
    page = client.get(reverse("staff:day"), HTTP_ACCEPT_LANGUAGE="tr,en;q=0.5").text
    assert html_tag(page) == '<html lang="en" dir="ltr">'


@pytest.mark.parametrize("language", CITIZEN_LANGUAGES)
def test_the_device_check_and_the_waiting_room_speak_the_participants_language(
    client, book, language
):
    booking = book(language=language)
    client.get(f"/j/{booking.token}/")
    member = agree(booking.citizen)
    direction = "rtl" if language in RIGHT_TO_LEFT else "ltr"

    check = client.get(reverse("journey:check", args=[member.public_id])).text
    assert html_tag(check) == f'<html lang="{language}" dir="{direction}">'
    assert said(language, "Not checked yet.") in check

    room = client.get(reverse("journey:room", args=[member.public_id])).text
    assert html_tag(room) == f'<html lang="{language}" dir="{direction}">'
    assert said(language, "You will be let in shortly") in room


def test_a_browser_in_another_language_is_offered_the_page_in_it(client, book):
    booking = book(language="de")
    client.get(f"/j/{booking.token}/")
    start = reverse("journey:start", args=[booking.citizen.public_id])

    page = client.get(start, HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9,en;q=0.5").text
    assert html_tag(page) == '<html lang="de" dir="ltr">'  # the appointment's language first
    assert "Bu sayfayı kendi dilimde göster (Türkçe)" in page

    client.post(reverse("set_language"), {"language": "tr", "next": start})
    page = client.get(start, HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9").text
    assert html_tag(page) == '<html lang="tr" dir="ltr">'
    assert "kendi dilimde" not in page, "chosen: nothing more to offer"


@pytest.mark.parametrize("accepted", ["de-DE,de;q=0.9", "sv-SE,sv;q=0.9", ""])
def test_nothing_is_offered_when_the_browser_speaks_the_pages_language_or_none_we_have(
    client, book, accepted
):
    booking = book(language="de")
    client.get(f"/j/{booking.token}/")
    start = reverse("journey:start", args=[booking.citizen.public_id])
    page = client.get(start, HTTP_ACCEPT_LANGUAGE=accepted).text
    assert 'class="language-offer"' not in page
