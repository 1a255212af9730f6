"""Consent: which text a participant sees, and recording what they decided (J5)."""

import re
from pathlib import Path

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
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
from videotermin.webhooks.outbox import emit

TEXTS_DIR = Path(__file__).parent / "texts"
FALLBACK_LANGUAGES = ("en", "de")
# An agency writes its texts in German first: its own German text outranks any shipped default.
AGENCY_FALLBACK_LANGUAGE = "de"
# What a text may say in braces; the page puts the agency's own details in their place.
PLACEHOLDER = re.compile(r"\{(\w+)\}")
PLACEHOLDERS = ("agency", "contact", "retention")


def current(agency, kind: str, language: str) -> ConsentText:
    """The published text of this kind that a person speaking `language` reads at the agency.

    The agency's own text in the language, else its German one; only then the shipped default,
    in the language or the fallback languages. Drafts are never shown.
    """
    candidates = [(agency, language), (agency, AGENCY_FALLBACK_LANGUAGE)] if agency else []
    candidates += [(None, candidate) for candidate in (language, *FALLBACK_LANGUAGES)]
    for owner, candidate in candidates:
        text = (
            ConsentText.objects.filter(
                agency=owner, kind=kind, language=candidate, published_at__isnull=False
            )
            .order_by("-version")
            .first()
        )
        if text is not None:
            return text
    raise ConsentText.DoesNotExist(f"No {kind} text is configured.")


def current_text(agency, language: str) -> ConsentText:
    """The consent text the agency's people agree to in this language (J5)."""
    return current(agency, ConsentText.Kind.CONSENT, language)


def privacy_notice(agency, language: str) -> ConsentText:
    """The agency's privacy notice in this language (J4)."""
    return current(agency, ConsentText.Kind.PRIVACY, language)


def fill(body: str, agency, language: str) -> str:
    """Put the agency's name, support contact and retention where the text names them."""
    with translation.override(language):
        if agency is None:
            values = {
                "agency": gettext("the agency that invited you"),
                "contact": gettext("the contact details in your invitation e-mail"),
                "retention": _days(14),
            }
        else:
            contact = [
                f"{gettext('Telephone')} {agency.support_phone}" if agency.support_phone else "",
                f"{gettext('E-mail')} {agency.support_email}" if agency.support_email else "",
                agency.support_hours,
            ]
            values = {
                "agency": agency.name,
                "contact": ", ".join(filter(None, contact))
                or gettext("the contact details in your invitation e-mail"),
                # The consent text promises 14 days; the purge caps the retention there too.
                "retention": _days(min(agency.retention_days, 14)),
            }
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), body)


def _days(days: int) -> str:
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


def unknown_placeholders(text: str) -> list[str]:
    """Names in braces that `fill` would leave as they are, and a reader would see raw."""
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def paragraphs(text: ConsentText, agency=None) -> list[dict]:
    """Split the body into headings, paragraphs and bullet lists for the template, with the
    agency's details filled in (the text's own agency if none is given)."""
    body = fill(text.body, agency or text.agency, text.language)
    blocks: list[dict] = []
    for block in body.strip().split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            # "bullets", not "items": a template would find the dict method of that name.
            blocks.append({"bullets": [line[2:] for line in lines]})
        elif len(lines) == 1 and lines[0].startswith("## "):
            blocks.append({"heading": lines[0][3:]})
        elif lines:
            blocks.append({"text": " ".join(lines)})
    return blocks


@transaction.atomic
def decide(member: Member, text: ConsentText, *, accepted: bool) -> ConsentDecision:
    """Record the answer with the version and time; declining removes stored device data."""
    if text.kind != ConsentText.Kind.CONSENT or text.is_draft:
        raise ValueError("a decision is about a published consent text")
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
    if accepted:
        emit(appointment, "member.consented", member=member, version=text.version)
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


def load_default_texts() -> None:
    """Publish the shipped default texts as version 1 where none exists: the consent texts in
    texts/, the privacy notices in texts/privacy/ (the migrations do the same)."""
    folders = {ConsentText.Kind.CONSENT: TEXTS_DIR, ConsentText.Kind.PRIVACY: TEXTS_DIR / "privacy"}
    for kind, folder in folders.items():
        for path in sorted(folder.glob("*.txt")):
            title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
            ConsentText.objects.get_or_create(
                agency=None,
                kind=kind,
                language=path.stem,
                version=1,
                defaults={"title": title.strip(), "body": body.strip()},
            )
