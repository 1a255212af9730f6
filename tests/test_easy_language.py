"""N6: the journey explained in Leichte Sprache, always German, linked from the citizen's pages,
and written by the rules (short sentences, active voice, digits, nothing loaded from elsewhere)."""

import gzip
import re

import pytest
from django.urls import reverse
from tests.personas import agree

EASY_LINK = re.compile(r'<a class="easy-link" href="(?P<href>[^"]+)"(?P<attributes>[^>]*)>')
BLOCK = re.compile(r"</?(?:p|li|h[1-6]|dt|dd|div|ul|ol|dl|nav|section)\b[^>]*>")
TAG = re.compile(r"<[^>]+>")
# The passive voice ("wird geprüft", "werden gelöscht") and the future with "werden".
PASSIVE = re.compile(r"\b(?:wird|werden|wurde|wurden|worden)\b", re.IGNORECASE)
NUMBER_WORDS = re.compile(
    r"\b(?:eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|vierzehn)\b",
    re.IGNORECASE,
)


def open_start(client, booking, language: str = "de"):
    citizen = booking.citizen
    if language != citizen.language:
        citizen.language = language
        citizen.save(update_fields=["language"])
    client.get(reverse("journey:link", args=[booking.token]))
    return client.get(reverse("journey:start", args=[citizen.public_id])).content.decode()


def easy_page(client, citizen) -> str:
    response = client.get(reverse("journey:easy_participant", args=[citizen.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def main_of(page: str) -> str:
    """The content of the page's <main>: the text, without the frame around it."""
    return page.split('<main id="main"', 1)[1].split(">", 1)[1].split("</main>", 1)[0]


def sentences(main: str) -> list[str]:
    """The sentences of the main content: each block ends one, and so do . ? !"""
    text = TAG.sub("", BLOCK.sub(" . ", main))
    parts = re.split(r"[.?!]", text)
    return [" ".join(part.split()) for part in parts if part.strip()]


def the_easy_link(page: str) -> re.Match:
    found = EASY_LINK.search(page)
    assert found, "no link to the Leichte Sprache page"
    return found


# German, whatever the citizen's language


def test_the_page_is_german_even_when_the_citizen_reads_arabic(client, booking):
    open_start(client, booking, language="ar")
    page = easy_page(client, booking.citizen)
    assert '<html lang="de" dir="ltr"' in page
    assert "<h1>Der Videotermin in Leichter Sprache</h1>" in page
    assert "Zum Inhalt springen" in page  # the frame around it speaks German too


def test_the_page_stays_german_after_the_citizen_chose_another_language(client, booking):
    open_start(client, booking)
    client.post(reverse("set_language"), {"language": "tr", "next": "/"})
    page = easy_page(client, booking.citizen)
    assert '<html lang="de"' in page


def test_the_page_without_a_personal_link_is_german_in_an_english_browser(client, db):
    response = client.get(reverse("journey:easy"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="de"' in page
    assert "spätestens 14 Tage nach dem Termin" in page
    assert "Die Telefonnummer steht in Ihrer" in page


# What it says about the agency


def test_through_a_personal_link_it_names_the_agencys_retention_and_support(client, booking):
    agency = booking.appointment.agency
    agency.retention_days = 7
    agency.entry_lead_minutes = 10
    agency.save()
    open_start(client, booking)
    page = easy_page(client, booking.citizen)
    assert "Wir sind: Agentur für Arbeit Musterstadt." in page
    assert "Wir löschen die Daten 7 Tage nach dem Termin." in page
    assert "Der Warteraum öffnet 10 Minuten vor dem Termin." in page
    assert 'href="tel:08004555501">0800 4 555501</a>' in page
    assert "support@musterstadt.example" in page
    assert reverse("journey:start", args=[booking.citizen.public_id]) in page
    assert reverse("journey:privacy", args=[agency.public_id, "de"]) in page


def test_one_day_and_one_minute_are_singular(client, booking):
    agency = booking.appointment.agency
    agency.retention_days = 1
    agency.entry_lead_minutes = 1
    agency.save()
    open_start(client, booking)
    page = easy_page(client, booking.citizen)
    assert "Wir löschen die Daten 1 Tag nach dem Termin." in page
    assert "Der Warteraum öffnet 1 Minute vor dem Termin." in page


def test_the_way_to_withdraw_appears_once_the_citizen_has_agreed(client, booking):
    open_start(client, booking)
    withdraw = reverse("journey:withdraw", args=[booking.citizen.public_id])
    assert withdraw not in easy_page(client, booking.citizen)
    agree(booking.citizen)
    assert withdraw in easy_page(client, booking.citizen)


def test_the_agencys_page_needs_no_personal_link(client, agency):
    response = client.get(reverse("journey:easy_agency", args=[agency.public_id]))
    assert response.status_code == 200
    assert "Wir löschen die Daten 14 Tage nach dem Termin." in response.content.decode()


def test_a_strangers_browser_gets_no_participants_page(client, booking):
    response = client.get(reverse("journey:easy_participant", args=[booking.citizen.public_id]))
    assert response.status_code == 403


# Linked from the citizen's pages


@pytest.mark.parametrize("language", ["de", "ar"])
def test_the_start_page_links_to_it_in_german_in_every_language(client, booking, language):
    page = open_start(client, booking, language=language)
    assert f'<html lang="{language}"' in page
    link = the_easy_link(page)
    assert link["href"] == reverse("journey:easy_participant", args=[booking.citizen.public_id])
    assert 'lang="de"' in link["attributes"] and 'hreflang="de"' in link["attributes"]
    assert 'dir="ltr"' in link["attributes"]
    assert "</svg>Leichte Sprache</a>" in page


def test_the_link_comes_before_the_consent_text_on_the_start_page(client, booking):
    page = open_start(client, booking)
    assert page.index('class="easy-link"') < page.index('id="consent-heading"')


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_home_page_links_to_it(client, db, language):
    page = client.get(reverse("journey:home"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    link = the_easy_link(page)
    assert link["href"] == reverse("journey:easy")
    assert 'lang="de"' in link["attributes"]


@pytest.mark.parametrize("language", ["de", "fr"])
def test_the_privacy_notice_links_to_the_agencys_page(client, agency, language):
    url = reverse("journey:privacy", args=[agency.public_id, language])
    link = the_easy_link(client.get(url).content.decode())
    assert link["href"] == reverse("journey:easy_agency", args=[agency.public_id])
    assert 'hreflang="de"' in link["attributes"]


# Tiny, and nothing from elsewhere


def test_it_has_no_script_and_loads_nothing_from_elsewhere(client, booking):
    open_start(client, booking)
    page = easy_page(client, booking.citizen)
    assert "<script" not in page
    assert "<iframe" not in page and "@import" not in page
    assert "<img" not in main_of(page)  # no pictures in the text (an agency's logo may head it)
    for address in re.findall(r'\b(?:src|href)="([^"]*)"', page):
        assert address.startswith(("/", "#", "tel:", "mailto:", "data:")), address


def test_it_stays_small(client, booking):
    open_start(client, booking)
    page = easy_page(client, booking.citizen)
    assert len(gzip.compress(page.encode())) < 6 * 1024


# The rules of Leichte Sprache, as far as a test can tell


def test_every_sentence_is_short(client, booking):
    open_start(client, booking)
    found = sentences(main_of(easy_page(client, booking.citizen)))
    assert len(found) > 100  # the text is all there, and the splitting works
    long = [sentence for sentence in found if len(sentence.split()) > 15]
    assert not long


def test_it_uses_no_passive_and_writes_numbers_as_digits(client, booking):
    open_start(client, booking)
    text = " ".join(sentences(main_of(easy_page(client, booking.citizen))))
    assert not PASSIVE.findall(text)
    assert not NUMBER_WORDS.findall(text)


def test_it_uses_no_italics_no_capitals_and_no_abbreviations(client, booking):
    open_start(client, booking)
    main = main_of(easy_page(client, booking.citizen))
    assert not re.search(r"<(?:i|em)\b", main)
    text = " ".join(sentences(main))
    assert not re.findall(r"\b[A-ZÄÖÜ]{3,}\b", text)
    assert not re.findall(r"\b(?:z\. ?B|bzw|ggf|usw|d\. ?h|ca)\.", main)


def test_it_explains_the_hard_words(client, booking):
    open_start(client, booking)
    page = easy_page(client, booking.citizen)
    for word in ("Link", "Browser", "Kamera", "Mikrofon", "Einwilligung", "Daten", "IP-Adresse"):
        assert f"<dt>{word}</dt>" in page
