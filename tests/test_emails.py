"""The e-mails the citizen receives: invitation, update and cancellation (J2)."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from videotermin.appointments import emails, services

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def next_week_at_ten():
    day = timezone.localdate(timezone.now(), BERLIN) + timedelta(days=7)
    return datetime(day.year, day.month, day.day, 10, 15, tzinfo=BERLIN)


def invite(counselor, location, starts_at, language="de"):
    return services.create_appointment(
        counselor=counselor,
        location=location,
        starts_at=starts_at,
        citizen_name="Dana Yilmaz",
        citizen_email="dana@example.org",
        language=language,
    )


def html_of(message) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")


def calendar_of(message) -> str:
    name, content, kind = message.attachments[0]
    assert name.endswith(".ics")
    assert kind.startswith("text/calendar")
    return content.decode() if isinstance(content, bytes) else content


def test_the_invitation_has_text_html_and_a_calendar_entry_with_the_link(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = invite(counselor, location, next_week_at_ten)
    [message] = mail.outbox
    link = emails.personal_link(booking.token)
    assert message.to == ["dana@example.org"]
    assert link in message.body
    assert f'href="{link}"' in html_of(message)
    ics = calendar_of(message)
    assert "METHOD:REQUEST" in ics
    assert booking.token in ics.replace("\r\n ", "")


def test_the_invitation_names_date_time_zone_agency_location_and_support(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(counselor, location, next_week_at_ten)
    [message] = mail.outbox
    for part in (message.body, html_of(message)):
        assert "Dana Yilmaz" in part
        assert "10:15" in part
        assert "Europe/Berlin" in part
        assert "Agentur für Arbeit Musterstadt" in part
        assert "Musterstadt Mitte" in part
        assert "0800 4 555501" in part
        assert "support@musterstadt.example" in part
    # German date format in a German e-mail: "29. November 2026 10:15".
    assert f"{next_week_at_ten.day}. " in message.subject and "10:15" in message.subject


def test_the_english_invitation_explains_the_check_the_room_and_the_spam_folder(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(counselor, location, next_week_at_ten, language="en")
    [message] = mail.outbox
    assert 'lang="en"' in html_of(message)
    text = " ".join(message.body.split())
    assert "beforehand" in text
    assert "opens 5 minutes before the start" in text
    assert "spam folder" in text
    assert "No software needs to be installed" in text


def test_the_html_loads_nothing_from_elsewhere(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(counselor, location, next_week_at_ten)
    html = html_of(mail.outbox[0])
    assert "<img" not in html
    assert "<table" not in html
    assert not re.search(r"src=|<link|<script", html)


def test_a_name_with_markup_is_escaped_in_html_and_plain_in_text(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.create_appointment(
            counselor=counselor,
            location=location,
            starts_at=next_week_at_ten,
            citizen_name="<b>Dana</b> & Co",
            citizen_email="dana@example.org",
        )
    [message] = mail.outbox
    assert "<b>Dana</b> & Co" in message.body
    assert "&lt;b&gt;Dana&lt;/b&gt; &amp; Co" in html_of(message)


def test_a_change_sends_an_update_with_the_new_time(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    booking = invite(counselor, location, next_week_at_ten)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_appointment(
            booking.appointment, by=counselor, starts_at=next_week_at_ten + timedelta(hours=1)
        )
    [message] = mail.outbox
    assert "11:15" in message.body
    ics = calendar_of(message)
    assert "METHOD:REQUEST" in ics
    assert "SEQUENCE:1" in ics


def test_a_cancellation_carries_no_link_and_cancels_the_calendar_entry(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    booking = invite(counselor, location, next_week_at_ten)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(booking.appointment, by=counselor)
    [message] = mail.outbox
    assert "/j/" not in message.body
    assert "/j/" not in html_of(message)
    ics = calendar_of(message)
    assert "METHOD:CANCEL" in ics
    assert "STATUS:CANCELLED" in ics


def test_support_lines_are_left_out_when_the_agency_has_none(
    outsider, next_week_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(outsider, outsider.staff.location, next_week_at_ten, language="en")
    [message] = mail.outbox
    assert "Telephone" not in message.body
    assert "Questions or technical problems" not in message.body
