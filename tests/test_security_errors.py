"""Error pages: what the site promises about them.

- Every error a person can meet (400, too large a form, 403, 404, 500, a form without its
  cookie, a bad Host header) is a page of the site, in the person's language, saying what to
  do next, with the full security headers.
- Refusals of what a client sent are logged in one line, without a traceback.
"""

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from tests.personas import PASSWORD

from videotermin.appointments.models import Appointment
from videotermin.journey import views as journey_views

THREE_MEGABYTES = 3 * 1024 * 1024


def assert_branded(response, language: str, *texts: str) -> str:
    """The site's own page in the language, with the security headers; its text."""
    page = response.content.decode()
    assert f'<html lang="{language}"' in page
    assert 'class="site-header"' in page
    for text in texts:
        assert text in page, text
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "DEBUG" not in page
    return page


@pytest.fixture
def alice(counselor):
    """Alice's browser, signed in to the staff workspace."""
    browser = Client()
    browser.force_login(counselor)
    return browser


# 404


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("de", ["Seite nicht gefunden", "vollständig kopiert"]),
        ("en", ["Page not found", "copied all of it"]),
    ],
)
def test_a_mistyped_address_gets_the_sites_not_found_page_in_the_browsers_language(
    client, db, language, texts
):
    response = client.get("/termine/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    page = assert_branded(response, language, *texts)
    assert 'href="/"' in page


def test_the_language_chosen_with_the_switch_wins_over_the_browsers(client, db, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/termine/", HTTP_ACCEPT_LANGUAGE="de")
    assert_branded(response, "en", "Page not found")


def test_alice_gets_the_same_page_for_an_appointment_that_is_not_there(alice):
    response = alice.get("/staff/appointments/00000000-0000-4000-8000-000000000000/edit/")
    assert response.status_code == 404
    assert_branded(response, "de", "Seite nicht gefunden")


# 403


def test_a_signed_in_user_who_is_not_staff_gets_the_sites_forbidden_page(client, db):
    dora = get_user_model().objects.create_user(username="dora", password=PASSWORD)
    client.force_login(dora)
    response = client.get(reverse("staff:day"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    page = assert_branded(response, "en", "You may not open this page", "personal link")
    assert reverse("staff:login") in page


# 400: too large a form, or one that cannot be read


def test_alices_three_megabyte_booking_is_refused_with_her_way_back(alice, location):
    before = Appointment.objects.count()
    new = reverse("staff:create")
    response = alice.post(
        new,
        {"citizen_name": "Emil Sommer", "notes": "x" * THREE_MEGABYTES},
        HTTP_REFERER=f"http://testserver{new}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    page = assert_branded(response, "en", "Your input was too large", "back button")
    assert f'href="http://testserver{new}"' in page
    assert Appointment.objects.count() == before


def test_a_too_large_form_from_another_site_leads_back_home_only(alice, db):
    response = alice.post(
        reverse("staff:create"),
        {"notes": "x" * THREE_MEGABYTES},
        HTTP_REFERER="https://evil.example/form",
    )
    assert response.status_code == 400
    page = assert_branded(response, "de", "Ihre Eingabe war zu groß")
    assert "evil.example" not in page
    assert 'href="/"' in page


def test_a_too_large_form_is_logged_in_one_line(alice, db, caplog):
    caplog.set_level(logging.INFO)
    alice.post(reverse("staff:create"), {"notes": "x" * THREE_MEGABYTES})
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1
    assert problems[0].exc_info is None and not problems[0].exc_text


# 500


@pytest.fixture
def broken_home_page(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the template engine broke")

    monkeypatch.setattr(journey_views, "render", fail)


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("de", ["Bei uns ist ein Fehler aufgetreten", "Es liegt nicht an Ihnen"]),
        ("en", ["Something went wrong on our side", "not yours"]),
    ],
)
def test_an_error_of_ours_is_a_page_of_the_site_in_the_visitors_language(
    db, broken_home_page, language, texts, caplog
):
    dana = Client(raise_request_exception=False)
    response = dana.get("/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 500
    assert_branded(response, language, *texts)
    assert "RuntimeError" not in response.content.decode()
    assert any("the template engine broke" in (r.exc_text or "") for r in caplog.records), (
        "our own errors keep their traceback in the log"
    )


# A form without its cookie


@pytest.fixture
def danas_start_page(booking):
    """Dana's browser, which checks CSRF like a real one, on her start page; its form's token."""
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("journey:link", args=[booking.token]))
    page = browser.get(reverse("journey:start", args=[booking.citizen.public_id]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    return browser, token[1]


def test_dana_agreeing_after_her_cookies_were_lost_is_told_to_allow_cookies(
    booking, danas_start_page
):
    browser, token = danas_start_page
    browser.cookies.clear()
    consent = reverse("journey:consent", args=[booking.citizen.public_id])
    response = browser.post(consent, {"csrfmiddlewaretoken": token, "decision": "accept"})
    assert response.status_code == 403
    page = assert_branded(
        response, "de", "Bitte erlauben Sie Cookies für diese Seite", "persönlichen Link"
    )
    assert reverse("journey:start", args=[booking.citizen.public_id]) in page
    booking.citizen.refresh_from_db()
    assert booking.citizen.consented_at is None


def test_the_cookie_page_speaks_english_to_an_english_browser(booking, danas_start_page):
    browser, token = danas_start_page
    browser.cookies.clear()
    response = browser.post(
        reverse("journey:consent", args=[booking.citizen.public_id]),
        {"csrfmiddlewaretoken": token, "decision": "accept"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert_branded(response, "en", "Please allow cookies for this site")


def test_alice_whose_sign_in_form_lost_its_cookie_is_sent_to_sign_in_again(db):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(reverse("staff:login"), {"username": "alice", "password": "x"})
    assert response.status_code == 403
    page = assert_branded(response, "de", "Bitte erlauben Sie Cookies")
    assert f'href="{reverse("staff:login")}"' in page


# A bad Host header


@pytest.mark.parametrize("redirect_to_https", [False, True])
def test_a_bad_host_header_gets_a_page_with_the_security_headers(
    client, db, settings, redirect_to_https
):
    # In production plain http is redirected to https, and the redirect reads the Host header.
    settings.SECURE_SSL_REDIRECT = redirect_to_https
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert_branded(response, "de", "Ihre Anfrage konnte nicht verarbeitet werden")
    assert "evil.example" not in response.headers["Content-Security-Policy"]
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_a_bad_host_header_is_logged_in_one_short_line(client, db, caplog):
    caplog.set_level(logging.INFO)
    client.get("/", HTTP_HOST="evil.example")
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in problems] == ["django.security.DisallowedHost"]
    (line,) = problems
    assert line.exc_info is None and not line.exc_text
    assert "\n" not in line.getMessage()
