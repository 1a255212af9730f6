"""The twelve languages' catalogues (N7): complete, without fuzzy or obsolete messages, with the
placeholders of the English text, compiled; and the shipped texts in every language."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

from videotermin.lib import catalogues

LOCALE = catalogues.LOCALE
TEXTS = Path(catalogues.__file__).resolve().parent.parent / "consent" / "texts"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}|%[sd]")
CITIZEN_LANGUAGES = [code for code, _name in settings.LANGUAGES if code not in catalogues.FULL]
CATALOGUES = [(lang, domain) for lang in CITIZEN_LANGUAGES for domain in catalogues.DOMAINS]


def po(language: str, domain: str) -> polib.POFile:
    path = LOCALE / language / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"{path} is missing: run make makemessages"
    return polib.pofile(str(path))


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_twelve_languages_are_offered_and_staff_pages_speak_two_of_them():
    assert [code for code, _name in settings.LANGUAGES] == [
        "de", "en", "tr", "ar", "uk", "ru", "pl", "ro", "fa", "fr", "es", "it",
    ]  # fmt: skip
    assert settings.STAFF_LANGUAGES == ("de", "en")


@pytest.mark.parametrize(("language", "domain"), CATALOGUES)
def test_each_catalogue_holds_exactly_what_a_citizen_can_meet(language, domain):
    english = po("en", domain)
    expected = {e.msgid for e in english if catalogues.for_citizens(e)}
    assert {e.msgid for e in po(language, domain)} == expected, "run make makemessages"


@pytest.mark.parametrize(("language", "domain"), CATALOGUES)
def test_each_catalogue_is_translated_with_nothing_fuzzy_or_obsolete(language, domain):
    catalogue = po(language, domain)
    assert not [e.msgid for e in catalogue.untranslated_entries()]
    assert not [e.msgid for e in catalogue.fuzzy_entries()]
    assert not [e.msgid for e in catalogue.obsolete_entries()]


@pytest.mark.parametrize(("language", "domain"), CATALOGUES)
def test_translations_keep_the_placeholders_of_the_english_text(language, domain):
    wrong = []
    for entry in po(language, domain):
        expected = placeholders(entry.msgid) | placeholders(entry.msgid_plural or "")
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for index, text in enumerate(texts):
            # A plural form for one (or none) may leave the number out, nothing else.
            allowed_missing = expected if entry.msgid_plural and index < 2 else set()
            if not expected - allowed_missing <= placeholders(text) <= expected:
                wrong.append((entry.msgid, text))
    assert not wrong


@pytest.mark.parametrize(("language", "domain"), CATALOGUES)
def test_each_catalogue_is_compiled_from_its_newest_po_file(language, domain):
    path = LOCALE / language / "LC_MESSAGES" / f"{domain}.po"
    compiled = path.with_suffix(".mo")
    assert compiled.exists() and compiled.stat().st_mtime >= path.stat().st_mtime, "make messages"


def structure(text: str) -> list[str]:
    """The shape of a shipped text: its headings, paragraphs and list items, in order."""
    shape = []
    for block in text.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("## "):
                shape.append("heading")
            elif line.startswith("- "):
                shape.append("item")
        if not block.startswith(("## ", "- ")):
            shape.append("paragraph")
    return shape


@pytest.mark.parametrize("folder", [TEXTS, TEXTS / "privacy"], ids=["consent", "privacy"])
@pytest.mark.parametrize("language", CITIZEN_LANGUAGES)
def test_the_shipped_texts_exist_in_every_language_with_the_shape_of_the_german(folder, language):
    german = (folder / "de.txt").read_text(encoding="utf-8")
    translated = (folder / f"{language}.txt").read_text(encoding="utf-8")
    assert structure(translated) == structure(german)
    assert placeholders(translated) == placeholders(german)
