"""The test call (echo through the server) and the network check's endpoints (J7, S4).

Only the browser that opened a participant's link, after consent, may use them, or a signed-in
staff member checking their own devices (from the office or from home). Nothing of what passes
through is stored; a participant's results reach the server only with the check result.
"""

import logging
import os
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from videotermin.appointments.models import Member
from videotermin.calls.state import link_works
from videotermin.checks import echo
from videotermin.checks.limits import WINDOW_SECONDS, take_probe
from videotermin.journey.access import find_participant
from videotermin.lib.jsonbody import BodyError, read_json

logger = logging.getLogger(__name__)

MAX_OFFER_CHARS = 30_000
# The offer's SDP, escaped as JSON, and its type.
MAX_OFFER_BYTES = 2 * MAX_OFFER_CHARS
MIN_PAYLOAD_BYTES = 1024
MAX_PAYLOAD_BYTES = 1024 * 1024


def _no_store(response: HttpResponse) -> HttpResponse:
    # Every measurement must travel the network: no browser or proxy cache may answer it.
    add_never_cache_headers(response)
    response.headers["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0"
    return response


def _json(data: dict, status: int = 200) -> HttpResponse:
    return _no_store(JsonResponse(data, status=status))


@dataclass(frozen=True)
class Checker:
    """Who checks: whose test-call place and measurement allowance it is, in which language."""

    owner: str
    language: str


def _checking_participant(request: HttpRequest, participant_id) -> Member | None:
    """The participant if this browser opened the link, agreed, and the appointment still runs."""
    participant = find_participant(request, participant_id)
    if participant is None or not participant.consented_at:
        return None
    appointment = participant.appointment
    if participant.removed_at or appointment.cancelled_at or not appointment.links_valid():
        return None
    if not link_works(request.session, participant):
        return None
    return participant


def _checker(request: HttpRequest, participant_id=None) -> Checker | None:
    """A participant on their own link's pages, or a staff member on the workspace's."""
    if participant_id is None:
        user = request.user
        if user.is_authenticated and getattr(user, "staff", None) is not None:
            return Checker(f"staff:{user.pk}", get_language())
        return None
    participant = _checking_participant(request, participant_id)
    if participant is None:
        return None
    return Checker(str(participant.public_id), participant.language)


def _too_many(checker: Checker) -> HttpResponse:
    with override(checker.language):
        message = _("Too many measurements in a short time. Please try again in a few minutes.")
    response = _json({"error": message}, status=429)
    response.headers["Retry-After"] = str(WINDOW_SECONDS)
    return response


def _refusal(request: HttpRequest, participant_id) -> HttpResponse:
    """403 in the language of the participant whose link this browser holds, else its own."""
    known = find_participant(request, participant_id) if participant_id else None
    with override(known.language if known else get_language()):
        if participant_id is None:
            message = _("Please sign in to the staff workspace first.")
        else:
            message = _("Please open your personal link and agree to the consent text first.")
    return _json({"error": message}, status=403)


@require_POST
async def echo_start(request: HttpRequest, participant=None) -> HttpResponse:
    """Answer the check page's offer with a peer connection that sends its media back."""
    found = await sync_to_async(_checker)(request, participant)
    if found is None:
        return await sync_to_async(_refusal)(request, participant)
    with override(found.language):
        try:
            offer = read_json(request, MAX_OFFER_BYTES)
        except BodyError:
            offer = None
        is_offer = isinstance(offer, dict) and offer.get("type") == "offer"
        sdp = offer.get("sdp") if is_offer else None
        if not isinstance(sdp, str) or len(sdp) > MAX_OFFER_CHARS:
            return _json({"error": _("The test call could not be started.")}, status=400)
        try:
            call_id, answer = await echo.backend().answer(found.owner, sdp)
        except echo.Busy:
            response = _json(
                {"error": _("Many people are testing right now. Please try again in a moment.")},
                status=503,
            )
            response.headers["Retry-After"] = "10"
            return response
        except ValueError:  # the backend refuses an SDP it cannot read
            return _json({"error": _("The test call could not be started.")}, status=400)
        except echo.Unavailable:
            logger.exception("the test call's echo service failed")
            message = _(
                "The test call is not available at the moment. "
                "Your appointment is not affected; you can continue."
            )
            return _json({"error": message}, status=503)
    return _json({"id": call_id, "type": "answer", "sdp": answer})


@require_POST
async def echo_stop(request: HttpRequest, participant=None) -> HttpResponse:
    """End this checker's test call (the page hangs up or goes away)."""
    found = await sync_to_async(_checker)(request, participant)
    if found is None:
        return await sync_to_async(_refusal)(request, participant)
    await echo.backend().close_owner(found.owner)
    return _no_store(HttpResponse(status=204))


@require_GET
def ping(request: HttpRequest, participant=None) -> HttpResponse:
    """Nothing, quickly: the round trip is measured in the browser."""
    if _checker(request, participant) is None:
        return _refusal(request, participant)
    return _no_store(HttpResponse(status=204))


@require_GET
def download(request: HttpRequest, participant=None) -> HttpResponse:
    """Random bytes (nothing for compression to shrink) of the asked size, for the download rate."""
    found = _checker(request, participant)
    if found is None:
        return _refusal(request, participant)
    try:
        size = int(request.GET.get("bytes", ""))
    except ValueError:
        size = 0
    if not MIN_PAYLOAD_BYTES <= size <= MAX_PAYLOAD_BYTES:
        with override(found.language):
            return _json({"error": _("This size cannot be measured.")}, status=400)
    if not take_probe(found.owner):
        return _too_many(found)
    # os.urandom: fast and incompressible; secrets would be the same bytes, only slower.
    response = HttpResponse(os.urandom(size), content_type="application/octet-stream")
    return _no_store(response)


@require_POST
def upload(request: HttpRequest, participant=None) -> HttpResponse:
    """Take the uploaded bytes, count them and forget them, for the upload rate."""
    found = _checker(request, participant)
    if found is None:
        return _refusal(request, participant)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if not MIN_PAYLOAD_BYTES <= length <= MAX_PAYLOAD_BYTES:
        with override(found.language):
            return _json({"error": _("This size cannot be measured.")}, status=400)
    if not take_probe(found.owner):
        return _too_many(found)
    received = len(request.body)
    return _json({"bytes": received})
