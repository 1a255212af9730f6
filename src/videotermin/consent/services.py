"""Consent: which text a participant sees, and recording what they decided (J5)."""

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from videotermin.appointments.models import Participant
from videotermin.appointments.services import announce
from videotermin.audit.services import record
from videotermin.consent.models import ConsentDecision, ConsentText

TEXTS_DIR = Path(__file__).parent / "texts"
FALLBACK_LANGUAGES = ("en", "de")


def current_text(agency, language: str) -> ConsentText:
    """The newest version for the agency in the language; the default text where it has none."""
    for candidate in (language, *FALLBACK_LANGUAGES):
        # An agency's own text wins over the default one; within each, the highest version.
        for owner in (agency, None):
            text = (
                ConsentText.objects.filter(agency=owner, language=candidate)
                .order_by("-version")
                .first()
            )
            if text is not None:
                return text
    raise ConsentText.DoesNotExist("No consent text is configured.")


def paragraphs(text: ConsentText) -> list[dict]:
    """Split the body into paragraphs and bullet lists for the template."""
    blocks: list[dict] = []
    for block in text.body.strip().split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            # "bullets", not "items": a template would find the dict method of that name.
            blocks.append({"bullets": [line[2:] for line in lines]})
        elif lines:
            blocks.append({"text": " ".join(lines)})
    return blocks


@transaction.atomic
def decide(participant: Participant, text: ConsentText, *, accepted: bool) -> ConsentDecision:
    """Record the answer with the version and time; declining removes stored device data."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    decision = ConsentDecision.objects.create(participant=participant, text=text, accepted=accepted)
    now = timezone.now()
    if accepted:
        participant.consented_at = now
        participant.declined_at = None
    else:
        participant.consented_at = None
        participant.declined_at = now
        participant.check_result = ""
        participant.check_details = {}
        participant.browser = participant.operating_system = ""
    participant.save()
    appointment = participant.appointment
    record(
        "consent.accepted" if accepted else "consent.declined",
        agency=appointment.agency,
        appointment=appointment,
        version=text.version,
        language=text.language,
    )
    announce(appointment)
    return decision


def load_default_texts(apps=None) -> None:
    """Publish the shipped default texts as version 1 where none exists (used by a migration)."""
    model = apps.get_model("consent", "ConsentText") if apps else ConsentText
    for path in sorted(TEXTS_DIR.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        model.objects.get_or_create(
            agency=None,
            language=path.stem,
            version=1,
            defaults={"title": title.strip(), "body": body.strip()},
        )
