"""The German and English catalogues: complete, compiled, and used by pages and e-mails."""

import ast
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from videotermin.appointments import emails
from videotermin.appointments import services as appointments
from videotermin.consent import services as consent

LOCALE = Path(__file__).resolve().parent.parent / "src" / "videotermin" / "locale"
DOMAINS = ("django", "djangojs")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}|%[sd]")


@dataclass
class Entry:
    """One message of a .po file: its flags, its msgid (and plural) and its translations."""

    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def translations(self) -> list[str]:
        return [value for key, value in self.fields.items() if key.startswith("msgstr")]


def read_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for the files makemessages writes (no obsolete entries)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    key = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line:
            entry = None
            continue
        if entry is None:
            entry = Entry(line=number)
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry.fields[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry.fields[key] = ast.literal_eval(value)
    return [entry for entry in entries if entry.msgid]  # without the header


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def german(domain: str) -> list[Entry]:
    path = LOCALE / "de" / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"{path} is missing: run make makemessages"
    return read_po(path)


# The catalogues


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_german_message_is_translated_and_none_is_fuzzy(domain):
    entries = german(domain)
    assert entries, f"the German {domain}.po has no messages"
    untranslated = [e.msgid for e in entries if not all(t.strip() for t in e.translations)]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated in {domain}.po: {untranslated}"
    assert not fuzzy, f"fuzzy in {domain}.po: {fuzzy}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_german_translations_keep_the_placeholders_of_the_english_text(domain):
    wrong = []
    for entry in german(domain):
        expected = placeholders(entry.msgid) | placeholders(entry.fields.get("msgid_plural", ""))
        for key, text in entry.fields.items():
            # The singular of a plural may leave out the number ("nächster Tag"), nothing else.
            allowed_missing = expected if key == "msgstr[0]" else set()
            if key.startswith("msgstr") and not (
                expected - allowed_missing <= placeholders(text) <= expected
            ):
                wrong.append((entry.msgid, key, text))
    assert not wrong, f"placeholders differ in {domain}.po: {wrong}"


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("domain", DOMAINS)
def test_both_catalogues_exist_and_are_compiled_from_their_newest_po_file(language, domain):
    po = LOCALE / language / "LC_MESSAGES" / f"{domain}.po"
    mo = po.with_suffix(".mo")
    assert po.exists(), f"{po} is missing: run make makemessages"
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, (
        f"{mo} is missing or older than its .po file: run make messages"
    )


def test_the_english_catalogue_lists_the_same_messages_as_the_german_one():
    for domain in DOMAINS:
        english = read_po(LOCALE / "en" / "LC_MESSAGES" / f"{domain}.po")
        assert {e.msgid for e in english} == {e.msgid for e in german(domain)}


def test_with_german_active_the_key_terms_are_german():
    with translation.override("de"):
        assert gettext("Video appointment") == "Videotermin"
        assert gettext("Consent") == "Einwilligung"
        assert gettext("Device check") == "Geräteprüfung"
        assert gettext("in the waiting room") == "im Warteraum"
        assert gettext("Enter the consultation room") == "Beratungsraum betreten"
        assert gettext("Admit") == "Einlassen"
        assert gettext("no-show") == "nicht erschienen"
        assert gettext("Survey") == "Umfrage"
        assert ngettext("%(minutes)s minute", "%(minutes)s minutes", 1) % {"minutes": 1} == (
            "1 Minute"
        )
        assert ngettext("%(minutes)s minute", "%(minutes)s minutes", 30) % {"minutes": 30} == (
            "30 Minuten"
        )


def test_with_english_active_the_source_texts_are_shown():
    with translation.override("en"):
        assert gettext("Admit") == "Admit"
        assert gettext("Enter the consultation room") == "Enter the consultation room"


def test_the_javascript_catalogue_of_the_day_view_is_german(client, db):
    page = client.get(reverse("jsi18n"), HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 200
    script = page.content.decode()
    assert '"Einlassen"' in script
    assert '"Kamera an"' in script


# E-mails


def html_of(message) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")


def test_the_invitation_of_a_german_appointment_is_german(booking):
    emails.send(booking.citizen, emails.Kind.INVITATION, token=booking.token)
    [message] = mail.outbox
    assert message.subject.startswith("Ihr Videotermin am ")
    for part in (message.body, html_of(message)):
        assert "Guten Tag Dana Yilmaz," in part
        assert "Agentur für Arbeit Musterstadt lädt Sie zu einem Videotermin ein." in part
        assert "Dienststelle" in part
        assert "Freundliche Grüße" in part
        assert "Dear" not in part and "Kind regards" not in part
    assert '<html lang="de"' in html_of(message)
    assert "Persönlichen Link öffnen" in html_of(message)
    calendar = message.attachments[0][1]
    calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
    assert "SUMMARY:Videotermin: Agentur für Arbeit Musterstadt" in calendar


def test_the_invitation_of_an_english_appointment_is_english(book):
    english = book(
        starts_in=timedelta(days=2), name="Emil Novak", language="en", send_invitation=False
    )
    emails.send(english.citizen, emails.Kind.INVITATION, token=english.token)
    [message] = mail.outbox
    assert message.subject.startswith("Your video appointment on ")
    for part in (message.body, html_of(message)):
        assert "Dear Emil Novak," in part
        assert "Agentur für Arbeit Musterstadt invites you to a video consultation." in part
        assert "Kind regards" in part
        assert "Guten Tag" not in part and "Freundliche Grüße" not in part
    assert '<html lang="en"' in html_of(message)


def test_the_cancellation_of_a_german_appointment_is_german(booking, counselor):
    appointments.cancel_appointment(booking.appointment, by=counselor)
    emails.send(booking.citizen, emails.Kind.CANCELLATION, token=None)
    message = mail.outbox[-1]
    assert message.subject.startswith("Abgesagt: Ihr Videotermin am ")
    assert "hat den folgenden Videotermin abgesagt" in message.body


def test_each_person_invited_reads_the_invitation_in_their_own_language(interpreter_booking):
    [(olga, olgas_token)] = interpreter_booking.extras
    emails.send(
        interpreter_booking.citizen, emails.Kind.INVITATION, token=interpreter_booking.token
    )
    emails.send(olga, emails.Kind.INVITATION, token=olgas_token)
    for_dana, for_olga = mail.outbox
    assert for_dana.subject.startswith("Ihr Videotermin am ")
    assert "Guten Tag Dana Yilmaz," in for_dana.body
    assert for_olga.subject.startswith("Your video appointment on ")
    assert "Dear Olga Kowalenko," in for_olga.body
    assert "Guten Tag" not in for_olga.body
    # The German e-mail was rendered first: the English one has no German left over.
    assert "Freundliche Grüße" not in for_olga.body and "Kind regards" in for_olga.body


# Pages


def start_url(booking) -> str:
    return reverse("journey:start", args=[booking.citizen.public_id])


def test_the_start_page_of_a_german_appointment_is_german_even_in_an_english_browser(
    client, booking
):
    client.get(reverse("journey:link", args=[booking.token]), HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(start_url(booking), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="de"' in page
    assert "Ihr Videotermin" in page
    assert "Einwilligung" in page and "Geräteprüfung" in page and "Beratungsraum" in page
    assert "Ich stimme zu" in page
    assert "I agree" not in page


def test_the_start_page_turns_english_after_switching_the_language(client, booking):
    client.get(reverse("journey:link", args=[booking.token]))
    switched = client.post(reverse("set_language"), {"language": "en", "next": start_url(booking)})
    assert switched.status_code == 302
    page = client.get(start_url(booking)).content.decode()
    assert '<html lang="en"' in page
    assert "Your video appointment" in page
    assert "I agree" in page
    assert "Ich stimme zu" not in page


def consented_client(client, booking) -> Client:
    client.get(reverse("journey:link", args=[booking.token]))
    text = consent.current_text(booking.appointment.agency, "de")
    client.post(
        reverse("journey:consent", args=[booking.citizen.public_id]),
        {"text": text.pk, "decision": "accept"},
    )
    return client


def test_the_check_page_of_a_german_appointment_is_german(client, booking):
    consented_client(client, booking)
    page = client.get(reverse("journey:check", args=[booking.citizen.public_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1>Geräteprüfung</h1>" in html
    assert "Beratungsraum betreten" in html
    assert "Erneut prüfen" in html


def test_the_waiting_room_of_a_german_appointment_is_german(client, booking):
    consented_client(client, booking)
    page = client.get(reverse("journey:room", args=[booking.citizen.public_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="de"' in html
    assert "<title>Beratungsraum" in html
    assert "Kamera und Mikrofon erneut testen" in html
    assert 'aria-label="Gesprächssteuerung"' in html
    assert "Stummschalten" in html and "Kamera aus" in html
    assert "Mute" not in html and "Camera off" not in html


def test_the_waiting_room_of_an_english_participant_is_english(client, interpreter_booking):
    [(olga, olgas_token)] = interpreter_booking.extras
    client.get(reverse("journey:link", args=[olgas_token]), HTTP_ACCEPT_LANGUAGE="de")
    text = consent.current_text(interpreter_booking.appointment.agency, "en")
    client.post(
        reverse("journey:consent", args=[olga.public_id]), {"text": text.pk, "decision": "accept"}
    )
    html = client.get(reverse("journey:room", args=[olga.public_id])).content.decode()
    assert '<html lang="en"' in html
    assert "You will be let in shortly" in html
    assert "Mute" in html and "Stummschalten" not in html


def test_the_staff_day_view_is_german_by_default(client, counselor, appointment):
    client.force_login(counselor)
    html = client.get(reverse("staff:day")).content.decode()
    assert '<html lang="de"' in html
    assert "Tagesansicht" in html and "Neuer Termin" in html
    assert "Geräteprüfung" in html and "Einladung erneut senden" in html
    assert "eingeladen" in html  # the status of the appointment


def test_the_staff_day_view_is_english_for_an_english_browser(client, counselor, appointment):
    client.force_login(counselor)
    html = client.get(reverse("staff:day"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en"' in html
    assert "Day view" in html and "Resend invitation" in html
