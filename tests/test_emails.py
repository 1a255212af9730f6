"""The e-mails everyone invited by link receives: invitation, update and cancellation (J2), each
in the person's own language. Alice books for Dana, with Olga as her interpreter."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from tests.personas import interpreter_invitee

from videotermin.appointments import emails, services

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def next_week_at_ten():
    day = timezone.localdate(timezone.now(), BERLIN) + timedelta(days=7)
    return datetime(day.year, day.month, day.day, 10, 15, tzinfo=BERLIN)


def invite(counselor, location, starts_at, language="de", name="Dana Yilmaz", extras=()):
    return services.create_appointment(
        by=counselor,
        location=location,
        starts_at=starts_at,
        citizen=services.Invitee(name=name, email="dana@example.org", language=language),
        extras=extras,
    )


def mail_to(address: str):
    [message] = [message for message in mail.outbox if message.to == [address]]
    return message


def parts_of(message) -> list[str]:
    """Everything a person reads of an e-mail: subject, text, HTML and the calendar entry."""
    return [message.subject, message.body, html_of(message), calendar_of(message)]


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
        invite(counselor, location, next_week_at_ten, name="<b>Dana</b> & Co")
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


# Everyone invited gets their own


def test_booking_with_an_interpreter_sends_each_person_their_own_e_mail_and_link(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = invite(counselor, location, next_week_at_ten, extras=[interpreter_invitee()])
    [(olga, olgas_token)] = booking.extras
    assert len(mail.outbox) == 2
    for_dana, for_olga = mail_to("dana@example.org"), mail_to("olga@example.org")

    assert emails.personal_link(booking.token) in for_dana.body
    assert emails.personal_link(olgas_token) in for_olga.body
    assert olgas_token not in " ".join(parts_of(for_dana))
    assert booking.token not in " ".join(parts_of(for_olga))
    assert services.resolve_link(olgas_token) == olga

    # Dana's in German, Olga's in English: each in their own language.
    assert for_dana.subject.startswith("Ihr Videotermin am ")
    assert "Guten Tag Dana Yilmaz," in for_dana.body
    assert '<html lang="de"' in html_of(for_dana)
    assert for_olga.subject.startswith("Your video appointment on ")
    assert "Dear Olga Kowalenko," in for_olga.body
    assert '<html lang="en"' in html_of(for_olga)


def test_the_interpreters_e_mail_names_her_role_and_not_the_citizen(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(counselor, location, next_week_at_ten, extras=[interpreter_invitee()])
    for_olga = mail_to("olga@example.org")
    assert "You take part as: interpreter" in for_olga.body
    assert "You take part as</dt>" in html_of(for_olga)
    for part in parts_of(for_olga):
        assert "Dana" not in part and "Yilmaz" not in part
        assert "dana@example.org" not in part
    # The citizen knows why she is invited: no role line for her.
    for_dana = mail_to("dana@example.org")
    assert "You take part as" not in for_dana.body
    assert "You take part as" not in html_of(for_dana)


def test_a_change_sends_everyone_an_update_in_their_own_language(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    booking = invite(counselor, location, next_week_at_ten, extras=[interpreter_invitee()])
    with django_capture_on_commit_callbacks(execute=True):
        services.update_appointment(
            booking.appointment, by=counselor, starts_at=next_week_at_ten + timedelta(hours=1)
        )
    for_dana, for_olga = mail_to("dana@example.org"), mail_to("olga@example.org")
    assert for_dana.subject.startswith("Geändert: Ihr Videotermin am ")
    assert for_olga.subject.startswith("Changed: your video appointment on ")
    for message in (for_dana, for_olga):
        assert "11:15" in message.body
        assert "SEQUENCE:1" in calendar_of(message)


def test_the_cancellation_goes_to_everyone_invited_in_their_own_language(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    booking = invite(counselor, location, next_week_at_ten, extras=[interpreter_invitee()])
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(booking.appointment, by=counselor)
    for_dana, for_olga = mail_to("dana@example.org"), mail_to("olga@example.org")
    assert for_dana.subject.startswith("Abgesagt: Ihr Videotermin am ")
    assert for_olga.subject.startswith("Cancelled: your video appointment on ")
    assert "has cancelled the following video consultation" in " ".join(for_olga.body.split())
    for message in (for_dana, for_olga):
        assert "METHOD:CANCEL" in calendar_of(message)


def test_a_removed_person_is_told_she_was_taken_off_and_the_calendar_entry_goes(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    booking = invite(counselor, location, next_week_at_ten, extras=[interpreter_invitee()])
    [(olga, _token)] = booking.extras
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_member(olga, by=counselor)
    [message] = mail.outbox
    assert message.to == ["olga@example.org"]
    assert message.subject.startswith("No longer invited: the video appointment on ")
    for part in (message.body, html_of(message)):
        text = " ".join(part.split())
        assert "Agentur für Arbeit Musterstadt has taken you off the following video" in text
        assert "has cancelled" not in text and "new appointment" not in text
        assert "If you think this is a mistake" in text
        assert "/j/" not in part
    ics = calendar_of(message)
    assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics
    assert f"UID:{booking.appointment.public_id}@videotermin" in ics


def test_a_corrected_address_gets_a_new_invitation_and_the_old_one_nothing(
    counselor, location, next_week_at_ten, django_capture_on_commit_callbacks
):
    booking = invite(counselor, location, next_week_at_ten)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_member(booking.citizen, by=counselor, email="dana.yilmaz@example.org")
    [message] = mail.outbox
    assert message.to == ["dana.yilmaz@example.org"]
    assert message.subject.startswith("Ihr Videotermin am ")
    token = re.search(r"/j/([\w-]+)/", message.body).group(1)
    assert services.resolve_link(token) == booking.citizen
    assert "SEQUENCE:1" in calendar_of(message)
