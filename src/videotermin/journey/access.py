"""Which participants (members invited by link) this browser may act for, and the language
their pages speak."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from videotermin.appointments.models import Member
from videotermin.calls.state import SESSION_KEY


def remember(request: HttpRequest, participant: Member) -> None:
    """Authorise this browser session for the participant (pages and the room WebSocket)."""
    allowed = list(request.session.get(SESSION_KEY, []))
    public_id = str(participant.public_id)
    if public_id not in allowed:
        allowed.append(public_id)
        request.session[SESSION_KEY] = allowed


def is_allowed(request: HttpRequest, participant_id) -> bool:
    return str(participant_id) in request.session.get(SESSION_KEY, [])


def find_participant(request: HttpRequest, participant_id) -> Member | None:
    """The participant if this browser opened their link; None for anybody else."""
    if not is_allowed(request, participant_id):
        return None
    return (
        Member.objects.select_related(
            "appointment__agency", "appointment__location", "appointment__counselor"
        )
        .filter(public_id=participant_id, user__isnull=True)
        .first()
    )


def activate_language(request: HttpRequest, language: str) -> None:
    """Speak the given language unless the citizen chose one with the language switch."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language
