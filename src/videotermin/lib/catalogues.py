"""The catalogues of the citizen's languages, kept in step with the English one.

German and English catalogues are extracted by `makemessages` and hold every message. Staff pages
speak German and English only, so the other languages' catalogues hold only the messages a
citizen or an invited participant can meet: those used anywhere outside the staff's apps. This
module writes them from the English catalogue, keeping every translation already made and
dropping what the source no longer says (an obsolete message would be dead weight for
translators). A message whose English text changed is a new, untranslated one: the catalogue
test names it until a translator has translated it.

    python -m videotermin.lib.catalogues      (run by `make makemessages`)
"""

from collections.abc import Iterable
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "locale"
DOMAINS = ("django", "djangojs")
# Where only staff look: their messages stay German and English.
STAFF_ONLY = (
    "administration/",
    "staff/",
    "signin/",
    "audit/",
    "stats/",
    "agencies/",
    "api/",
    "webhooks/",
    "monitoring/",
    # Licences and media servers: the administrators' licence page and refusals to staff.
    "resources/",
    # The booking's staff pages; its citizen pages are for everybody.
    "booking/staff",
    "booking/publishing.py",
    "booking/management/",
    "booking/api.py",
    "booking/templates/booking/staff/",
    "static/videotermin/js/staff-",
    "static/videotermin/js/look-preview.js",
)
# The languages every catalogue has in full.
FULL = ("de", "en")


def for_citizens(entry: polib.POEntry) -> bool:
    """Whether a citizen can meet the message: used somewhere outside the staff's apps."""
    return not entry.occurrences or any(
        not path.startswith(STAFF_ONLY) for path, _line in entry.occurrences
    )


def citizen_languages() -> list[str]:
    from django.conf import settings

    return [code for code, _name in settings.LANGUAGES if code not in FULL]


def sync(language: str, domain: str) -> polib.POFile:
    """Write `language`'s catalogue from the English one; return it."""
    source = polib.pofile(str(LOCALE / "en" / "LC_MESSAGES" / f"{domain}.po"))
    path = LOCALE / language / "LC_MESSAGES" / f"{domain}.po"
    old = polib.pofile(str(path)) if path.exists() else polib.POFile()
    known = {(e.msgctxt, e.msgid): e for e in old if not e.obsolete}
    catalogue = polib.POFile(wrapwidth=0)
    catalogue.metadata = {
        "Project-Id-Version": "videotermin",
        "Language": language,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": old.metadata.get("Plural-Forms") or plural_forms(language),
    }
    for entry in source:
        if entry.obsolete or not for_citizens(entry):
            continue
        translated = known.get((entry.msgctxt, entry.msgid))
        new = polib.POEntry(
            msgctxt=entry.msgctxt,
            msgid=entry.msgid,
            msgid_plural=entry.msgid_plural,
            occurrences=entry.occurrences,
            flags=[flag for flag in entry.flags if flag != "fuzzy"],
            comment=entry.comment,
        )
        if translated is not None:
            new.msgstr = translated.msgstr
            new.msgstr_plural = translated.msgstr_plural
            if "fuzzy" in translated.flags:
                new.flags.append("fuzzy")
        elif entry.msgid_plural:
            new.msgstr_plural = {i: "" for i in range(plural_count(catalogue.metadata))}
        catalogue.append(new)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalogue.save(str(path))
    return catalogue


def plural_forms(language: str) -> str:
    """The plural rule gettext uses for a language (the CLDR rules as gettext writes them)."""
    rules = {
        "tr": "nplurals=2; plural=(n != 1);",
        "ar": (
            "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
            ": n%100>=11 ? 4 : 5);"
        ),
        "uk": (
            "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
            "(n%100<10 || n%100>=20) ? 1 : 2);"
        ),
        "ru": (
            "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
            "(n%100<10 || n%100>=20) ? 1 : 2);"
        ),
        "pl": (
            "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
        ),
        "ro": "nplurals=3; plural=(n==1 ? 0 : (n==0 || (n%100 > 0 && n%100 < 20)) ? 1 : 2);",
        "fa": "nplurals=2; plural=(n > 1);",
        "fr": "nplurals=2; plural=(n > 1);",
        "es": "nplurals=2; plural=(n != 1);",
        "it": "nplurals=2; plural=(n != 1);",
    }
    return rules.get(language, "nplurals=2; plural=(n != 1);")


def plural_count(metadata: dict) -> int:
    forms = metadata.get("Plural-Forms", "nplurals=2;")
    return int(forms.split("nplurals=")[1].split(";")[0])


def main(languages: Iterable[str] | None = None) -> None:
    import django

    django.setup()
    for language in languages or citizen_languages():
        for domain in DOMAINS:
            sync(language, domain)


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videotermin.settings")
    main()
