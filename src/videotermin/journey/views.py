"""The citizen's way from the personal link to the waiting room: start, consent, check, room."""

from collections.abc import Callable
from datetime import tzinfo
from functools import wraps
from math import ceil
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic import ValidationError

from videotermin.agencies.models import Agency
from videotermin.appointments.models import Appointment, Member
from videotermin.appointments.services import (
    LinkError,
    NotAllowed,
    can_enter,
    check_member_access,
    open_link,
)
from videotermin.calls import ice
from videotermin.calls import services as calls
from videotermin.calls.protocol import Check
from videotermin.calls.state import link_works
from videotermin.consent import services as consent
from videotermin.journey import limits
from videotermin.journey.access import activate_language, find_participant, remember
from videotermin.lib.i18n import language_to_offer
from videotermin.lib.jsonbody import BodyError, read_json

# Tokens are 32 characters; anything much longer is not ours and is not worth hashing.
MAX_TOKEN_LENGTH = 128
MAX_CHECK_BYTES = 8 * 1024


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    try:
        staff_login = reverse("staff:login")
    except NoReverseMatch:  # the staff workspace is not wired up in every deployment
        staff_login = None
    return render(request, "journey/home.html", {"staff_login": staff_login})


@never_cache
@require_GET
def link(request: HttpRequest, token: str) -> HttpResponse:
    """Open a personal link: remember the participant, then drop the token from the address."""
    if limits.allow_lookup(request.META.get("REMOTE_ADDR", "")):
        response = _open_link(request, token)
    else:
        response = render(request, "journey/too_many_lookups.html", status=429)
        response.headers["Retry-After"] = str(limits.retry_after())
    # The address holds the secret: no page reached from here may learn it, not even our own.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _open_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise LinkError(LinkError.UNKNOWN)
        link = open_link(token)
    except LinkError as error:
        if error.member is not None:
            activate_language(request, error.member.language)
        return link_error(request, error.reason, error.appointment, forget_address=True)
    remember(request, link)
    participant = link.member
    if participant.consented_at and participant.admitted_at and participant.appointment.is_running:
        # Back into the running call (J15): consent and device check hold for the consultation.
        return redirect("journey:room", participant=participant.public_id)
    return redirect("journey:start", participant=participant.public_id)


def link_error(
    request: HttpRequest,
    reason: str,
    appointment: Appointment | None,
    *,
    forget_address: bool = False,
) -> HttpResponse:
    """Why the link does not work; `forget_address` when the address is the link itself."""
    status = 404 if reason == LinkError.UNKNOWN else 410
    context = {
        "reason": reason,
        "appointment": appointment,
        "agency": appointment.agency if appointment else None,
        "forget_address": forget_address,
    }
    response = render(request, "journey/link_error.html", context, status=status)
    # The address may hold a link's token, and the page's own links must not pass it on.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def privacy(request: HttpRequest, agency, language: str) -> HttpResponse:
    """The agency's current privacy notice in the language (J4): public, no session needed."""
    names = dict(settings.LANGUAGES)
    if language not in names:
        raise Http404
    found = get_object_or_404(Agency, public_id=agency)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    text = consent.privacy_notice(found, language)
    context = {
        "agency": found,
        "text": text,
        "paragraphs": consent.paragraphs(text, found),
        "others": [(code, _local_name(code)) for code in names if code != language],
    }
    return render(request, "journey/privacy.html", context)


def _local_name(code: str) -> str:
    return translation.get_language_info(code)["name_local"]


# N6: the journey explained in Leichte Sprache (journey/easy.html). Leichte Sprache is German
# easy language, so the page speaks German whatever language the citizen chose.
EASY_LANGUAGE = "de"


def _render_easy(
    request: HttpRequest, agency: Agency | None = None, participant: Member | None = None
) -> HttpResponse:
    translation.activate(EASY_LANGUAGE)
    request.LANGUAGE_CODE = EASY_LANGUAGE
    fields = Agency._meta
    context = {
        "agency": agency,
        "participant": participant,
        # Without an agency the page names the most any agency may keep (the consent text's 14).
        "retention_days": agency.retention_days
        if agency
        else fields.get_field("retention_days").default,
        "entry_minutes": agency.entry_lead_minutes
        if agency
        else fields.get_field("entry_lead_minutes").default,
    }
    return render(request, "journey/easy.html", context)


@require_GET
def easy(request: HttpRequest) -> HttpResponse:
    """Leichte Sprache without a personal link: reachable from the home page."""
    return _render_easy(request)


@require_GET
def easy_for_agency(request: HttpRequest, agency) -> HttpResponse:
    """Leichte Sprache naming the agency, its retention and its support (from the privacy
    notice): public like the privacy notice, no session needed."""
    return _render_easy(request, get_object_or_404(Agency, public_id=agency))


def participant_page(view: Callable) -> Callable:
    """Let only the browser that opened the participant's link in, speaking their language."""

    @wraps(view)
    def wrapper(request: HttpRequest, participant, *args, **kwargs) -> HttpResponse:
        found = find_participant(request, participant)
        if found is None:
            return render(request, "journey/forbidden.html", status=403)
        activate_language(request, found.language)
        try:
            check_member_access(found)
            if not link_works(request.session, found):
                raise LinkError(LinkError.REPLACED, found)
        except LinkError as error:
            return link_error(request, error.reason, error.appointment)
        return view(request, found, *args, **kwargs)

    return never_cache(wrapper)


def _appointment_context(participant: Member) -> dict:
    appointment = participant.appointment
    counselor = appointment.counselor
    return {
        "participant": participant,
        "role_label": ""
        if participant.role == Member.Role.CITIZEN
        else participant.get_role_display(),
        "appointment": appointment,
        "agency": appointment.agency,
        "counselor_name": counselor.get_full_name() or "",
        "time_zone": _zone(appointment.agency.time_zone),
    }


def _render_start(request: HttpRequest, participant: Member, status: int = 200):
    text = consent.current_text(participant.appointment.agency, get_language())
    context = _appointment_context(participant) | {
        "text": text,
        "paragraphs": consent.paragraphs(text, participant.appointment.agency),
        "consented": participant.consented_at is not None,
        "offered_language": language_to_offer(request),
    }
    return render(request, "journey/start.html", context, status=status)


@require_GET
@participant_page
def start(request: HttpRequest, participant: Member) -> HttpResponse:
    """J4 and J5: the appointment, the language switch and the consent text."""
    return _render_start(request, participant)


@require_GET
@participant_page
def easy_for_participant(request: HttpRequest, participant: Member) -> HttpResponse:
    """Leichte Sprache from the start page: the agency's, with the way back to the appointment."""
    return _render_easy(request, participant.appointment.agency, participant)


@require_POST
@participant_page
def consent_view(request: HttpRequest, participant: Member) -> HttpResponse:
    """Record "I agree" or "I do not agree" for the text version the citizen has read."""
    text = consent.current_text(participant.appointment.agency, get_language())
    decision = request.POST.get("decision")
    if request.POST.get("text") != str(text.pk) or decision not in ("accept", "decline"):
        # The text changed (new version, other language) since the page was shown: read again.
        messages.warning(
            request, _("The consent text has changed. Please read it again and then decide.")
        )
        return _render_start(request, participant)
    accepted = decision == "accept"
    consent.decide(participant, text, accepted=accepted)
    # A decision is a step up in what this browser may do: a new session key for it.
    request.session.cycle_key()
    if accepted:
        return redirect("journey:check", participant=participant.public_id)
    return redirect("journey:declined", participant=participant.public_id)


@require_GET
@participant_page
def declined(request: HttpRequest, participant: Member) -> HttpResponse:
    return render(request, "journey/declined.html", _appointment_context(participant))


@require_http_methods(["GET", "POST"])
@participant_page
def withdraw(request: HttpRequest, participant: Member) -> HttpResponse:
    """Withdraw consent: what it means, then (POST, confirmed) withdraw it for good."""
    if request.method == "POST":
        try:
            consent.withdraw(participant, by=participant)
        except NotAllowed as error:
            messages.error(request, str(error))
        else:
            # What this browser may do changed: a new session key for it.
            request.session.cycle_key()
            return redirect("journey:withdrawn", participant=participant.public_id)
    return render(request, "journey/withdraw.html", _appointment_context(participant))


@never_cache
@require_GET
def withdrawn(request: HttpRequest, participant) -> HttpResponse:
    """The confirmation that consent was withdrawn, in the participant's language."""
    found = find_participant(request, participant)
    if found is None:
        return render(request, "journey/forbidden.html", status=403)
    activate_language(request, found.language)
    if not found.withdrawn_at:
        return redirect("journey:start", participant=found.public_id)
    appointment = found.appointment
    context = {
        "reason": LinkError.WITHDRAWN,
        "appointment": appointment,
        "agency": appointment.agency,
    }
    response = render(request, "journey/link_error.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _entry_context(participant: Member) -> dict:
    appointment = participant.appointment
    now = timezone.now()
    seconds = max(0, ceil((appointment.entry_opens_at - now).total_seconds()))
    return {
        "room_open": can_enter(appointment, now),
        "seconds_until_entry": seconds,
    }


@require_GET
@participant_page
def check(request: HttpRequest, participant: Member) -> HttpResponse:
    """J6 and J7: the automatic device check, and the way into the room (J8)."""
    if not participant.consented_at:
        return redirect("journey:start", participant=participant.public_id)
    context = _appointment_context(participant) | _entry_context(participant)
    return render(request, "journey/check.html", context)


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_POST
@participant_page
def check_result(request: HttpRequest, participant: Member) -> JsonResponse:
    """Store the result of the device check (with consent only); strict about the input."""
    try:
        result = Check.model_validate(read_json(request, MAX_CHECK_BYTES))
    except BodyError as error:
        if error.too_large:
            return _json_error(_("The check result is too large."))
        return _json_error(_("The check result could not be read."))
    except ValidationError:
        return _json_error(_("The check result could not be read."))
    camera = result.details.get("camera")
    microphone = result.details.get("microphone")
    try:
        calls.update_status(
            participant,
            check=result.model_dump(),
            camera=camera if isinstance(camera, bool) else None,
            microphone=microphone if isinstance(microphone, bool) else None,
        )
    except NotAllowed as error:
        return _json_error(str(error), status=403)
    return JsonResponse({"result": result.result})


@require_GET
@participant_page
def room(request: HttpRequest, participant: Member) -> HttpResponse:
    """J8 and J9: the waiting room and the call, once it is open; never before."""
    if not participant.consented_at:
        return redirect("journey:start", participant=participant.public_id)
    appointment = participant.appointment
    if not can_enter(appointment):
        opens = timezone.localtime(
            appointment.entry_opens_at, timezone=_zone(appointment.agency.time_zone)
        )
        messages.info(
            request,
            _(
                "The consultation room opens at %(time)s. Please wait until "
                "then; the button becomes active by itself."
            )
            % {"time": opens.strftime("%H:%M")},
        )
        return redirect("journey:check", participant=participant.public_id)
    return render(
        request,
        "calls/room.html",
        {
            "participant": participant,
            "appointment": appointment,
            "staff_room": False,
            "ws_path": f"/ws/room/{appointment.public_id}/",
            "survey_url": reverse("survey:start", args=[participant.public_id]),
            "check_url": reverse("journey:check", args=[participant.public_id]),
            "withdraw_url": reverse("journey:withdraw", args=[participant.public_id]),
            "withdrawn_url": reverse("journey:withdrawn", args=[participant.public_id]),
            **ice.page_context(appointment.agency, str(participant.public_id)),
        },
    )


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()
