"""An agency's administrators write new versions of its consent text and privacy notice (A3):
a draft to edit and preview, then published for good. Atomic and audited; never across agencies.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from videotermin.agencies.models import Agency
from videotermin.appointments.services import NotAllowed
from videotermin.audit.services import record
from videotermin.consent import services
from videotermin.consent.models import ConsentText


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def draft(agency: Agency, kind: str, language: str) -> ConsentText | None:
    """The agency's one draft of this kind and language, if it has one."""
    return ConsentText.objects.filter(
        agency=agency, kind=kind, language=language, published_at__isnull=True
    ).first()


def history(agency: Agency, kind: str, language: str):
    """The agency's published versions of this kind and language, newest first."""
    return ConsentText.objects.filter(
        agency=agency, kind=kind, language=language, published_at__isnull=False
    ).order_by("-version")


def save_draft(
    agency: Agency, *, kind: str, language: str, title: str, body: str, by
) -> ConsentText:
    """Create or change the agency's draft; what citizens read stays as it is until published."""
    with transaction.atomic():
        _lock(agency, by, kind, language)
        unknown = services.unknown_placeholders(f"{title}\n{body}")
        if unknown:
            raise ValidationError(
                _("Unknown placeholder: %(names)s. Possible are: %(known)s.")
                % {
                    "names": ", ".join(f"{{{name}}}" for name in unknown),
                    "known": ", ".join(f"{{{name}}}" for name in services.PLACEHOLDERS),
                }
            )
        text = draft(agency, kind, language) or ConsentText(
            agency=agency, kind=kind, language=language, version=None, published_at=None
        )
        text.title, text.body = title.strip(), body.strip()
        text.save()
        record("consent.draft_saved", agency=agency, by=by, kind=kind, language=language)
    return text


def publish(agency: Agency, *, kind: str, language: str, seen: str, by) -> ConsentText:
    """Publish the draft the administrator saw (`seen`, its digest) as the next version: from
    now on citizens read it and agree to it, and it never changes again."""
    with transaction.atomic():
        _lock(agency, by, kind, language)
        text = draft(agency, kind, language)
        if text is None:
            raise NotAllowed(_("There is no draft to publish."))
        if text.digest != seen:
            raise NotAllowed(
                _("The draft was changed meanwhile. Please look at it again before publishing.")
            )
        newest = history(agency, kind, language).aggregate(newest=Max("version"))["newest"]
        text.version = (newest or 0) + 1
        text.published_at = timezone.now()
        text.save()
        record(
            "consent.text_published",
            agency=agency,
            by=by,
            kind=kind,
            language=language,
            version=text.version,
        )
    return text


def discard_draft(agency: Agency, *, kind: str, language: str, by) -> None:
    """Throw the draft away; the published versions stay as they are."""
    with transaction.atomic():
        _lock(agency, by, kind, language)
        text = draft(agency, kind, language)
        if text is None:
            return
        text.delete()
        record("consent.draft_discarded", agency=agency, by=by, kind=kind, language=language)


def _lock(agency: Agency, by, kind: str, language: str) -> None:
    """Only the agency's own administrators; one change of its texts at a time, so versions
    are numbered without gaps or twins."""
    staff = getattr(by, "staff", None)
    if staff is None or not by.is_active or staff.agency_id != agency.pk or not staff.is_admin:
        raise NotAllowed(_("Only an administrator of the agency can change its texts."))
    if kind not in ConsentText.Kind.values or language not in languages():
        raise ValueError(f"no such text: {kind} in {language}")
    Agency.objects.select_for_update().filter(pk=agency.pk).first()
