"""Which participants (members invited by link) this browser may act for, and the language
their pages speak."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from videotermin.appointments.models import Link, Member
from videotermin.calls.state import SESSION_KEY, opened_links, opened_members


def remember(request: HttpRequest, link: Link) -> None:
    """Authorise this browser session for the link's member (pages and the room WebSocket).

    The session key changes with every link opened, so a session planted beforehand is of no
    use; and it remembers which link, so that correcting the address the link went to ends it.
    """
    opened = opened_links(request.session)
    opened[str(link.member.public_id)] = link.pk
    request.session.cycle_key()
    request.session[SESSION_KEY] = opened


def is_allowed(request: HttpRequest, participant_id) -> bool:
    return str(participant_id) in opened_links(request.session)


def find_participant(request: HttpRequest, participant_id) -> Member | None:
    """The participant if this browser opened one of their links; None for anybody else."""
    if not is_allowed(request, participant_id):
        return None
    members = Member.objects.select_related(
        "appointment__agency", "appointment__location", "appointment__counselor"
    ).filter(public_id=participant_id)
    return opened_members(members, request.session).first()


def activate_language(request: HttpRequest, language: str) -> None:
    """Speak the given language unless the citizen chose one with the language switch."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language
