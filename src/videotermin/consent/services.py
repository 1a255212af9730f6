"""Consent: which text a participant sees, and recording what they decided (J5)."""

from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.appointments.models import Member
from videotermin.appointments.services import (
    NotAllowed,
    announce,
    locked_member,
    save_member,
    take_out,
)
from videotermin.audit.services import record
from videotermin.calls.state import close_connection
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
def decide(member: Member, text: ConsentText, *, accepted: bool) -> ConsentDecision:
    """Record the answer with the version and time; declining removes stored device data."""
    member = locked_member(member)
    decision = ConsentDecision.objects.create(member=member, text=text, accepted=accepted)
    now = timezone.now()
    if accepted:
        member.consented_at = now
        member.declined_at = None
    else:
        member.consented_at = None
        member.declined_at = now
        _forget_device_data(member)
    save_member(member)
    appointment = member.appointment
    record(
        "consent.accepted" if accepted else "consent.declined",
        agency=appointment.agency,
        by=member,
        appointment=appointment,
        version=text.version,
        language=text.language,
    )
    announce(appointment)
    return decision


def _forget_device_data(member: Member) -> None:
    """What the check and the room learnt of the devices (kept only with consent)."""
    member.check_result = ""
    member.check_details = {}
    member.browser = member.operating_system = ""
    member.camera_on = member.microphone_on = member.screen_on = False


@transaction.atomic
def withdraw(member: Member, *, by) -> Member:
    """The participant withdraws their consent from their own link, at any time: their device
    data are deleted at once, they leave the call, their links stop working, and the host and
    the day view are told. Only the member themself may; a second withdrawal changes nothing."""
    if not isinstance(by, Member) or by.pk != member.pk:
        raise NotAllowed(_("Only the participant themself can withdraw their consent."))
    member = locked_member(member)
    if member.is_staff or member.removed_at:
        raise NotAllowed(_("Only the participant themself can withdraw their consent."))
    if member.withdrawn_at:
        return member
    now = timezone.now()
    appointment = member.appointment
    # The agreement stays as proof of what was agreed to, and when; it is marked withdrawn.
    member.consent_decisions.filter(accepted=True, withdrawn_at__isnull=True).update(
        withdrawn_at=now
    )
    member.withdrawn_at = now
    member.consented_at = None
    _forget_device_data(member)
    channel = take_out(member, now)
    save_member(member)
    record(
        "consent.withdrawn",
        agency=appointment.agency,
        by=member,
        appointment=appointment,
        member=member.audit_ref,
        role=member.role,
    )
    close_connection(channel, "withdrawn")
    announce(appointment)
    return member


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
