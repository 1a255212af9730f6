"""The pages of self-service booking: the booking link, the public booking page with its
e-mail confirmation, and cancelling or moving an appointment through the personal link.

Secrets in addresses (the booking link, the confirmation link) are exchanged for a note in the
browser's session and left behind by a redirect, as the personal link is (journey/views.py).
"""

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from videotermin.agencies.look import look_of
from videotermin.agencies.models import Agency
from videotermin.appointments.models import Member
from videotermin.appointments.services import open_link
from videotermin.booking import limits, services, slots
from videotermin.booking.forms import PersonForm
from videotermin.booking.models import BookingPage, Hold, Invitation
from videotermin.journey import limits as link_limits
from videotermin.journey.access import activate_language, remember
from videotermin.journey.views import _appointment_context, participant_page
from videotermin.lib.i18n import language_to_offer

INVITATIONS = "videotermin.booking.invitations"
HOLDS = "videotermin.booking.holds"
# Days with free times shown on one page.
DAYS_PER_PAGE = 7


def _note(request: HttpRequest, key: str, public_id) -> None:
    """Let this browser see the booking link's (or the hold's) pages from now on."""
    noted = [*request.session.get(key, []), str(public_id)][-10:]
    request.session.cycle_key()
    request.session[key] = noted


def _noted(request: HttpRequest, key: str, public_id) -> bool:
    return str(public_id) in request.session.get(key, [])


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _no_referrer(response: HttpResponse) -> HttpResponse:
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _error(request: HttpRequest, reason: str, agency: Agency | None, status: int) -> HttpResponse:
    context = {"reason": reason, "agency": agency, "look": look_of(agency) if agency else None}
    return _no_referrer(render(request, "booking/link_error.html", context, status=status))


def _too_many_lookups(request: HttpRequest) -> HttpResponse:
    response = render(request, "journey/too_many_lookups.html", status=429)
    response.headers["Retry-After"] = str(link_limits.retry_after())
    return _no_referrer(response)


def _days(request: HttpRequest, found: list[slots.Slot], zone) -> dict:
    """One page of days with free times, from the day asked for (?from=) on."""
    days = slots.by_day(found, zone)
    try:
        first = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        first = None
    index = 0
    if first is not None:
        index = next((i for i, (day, _s) in enumerate(days) if day >= first), len(days))
        if index == len(days):
            index = max(0, len(days) - DAYS_PER_PAGE)
    shown = days[index : index + DAYS_PER_PAGE]
    return {
        "days": shown,
        "earlier": days[max(0, index - DAYS_PER_PAGE)][0] if index > 0 else None,
        "later": days[index + DAYS_PER_PAGE][0] if len(days) > index + DAYS_PER_PAGE else None,
        "several_locations": len({slot.location.pk for slot in found}) > 1,
        "time_zone": zone,
        "zone_name": getattr(zone, "key", str(zone)),
    }


def _slots_page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    context.setdefault("offered_language", language_to_offer(request))
    return render(request, "booking/slots.html", context, status=status)


# The booking link


@never_cache
@require_GET
def invitation_link(request: HttpRequest, token: str) -> HttpResponse:
    """Open a booking link: remember it in the session, then drop the token from the address."""
    if not link_limits.allow_lookup(_address(request)):
        return _too_many_lookups(request)
    try:
        invitation = services.open_invitation(token)
    except services.InvitationError as error:
        agency = error.invitation.agency if error.invitation else None
        if error.invitation is not None:
            activate_language(request, error.invitation.language)
        status = 404 if error.reason == services.InvitationError.UNKNOWN else 410
        return _error(request, error.reason, agency, status)
    _note(request, INVITATIONS, invitation.public_id)
    return _no_referrer(redirect("booking:invitation", invitation=invitation.public_id))


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, invitation) -> HttpResponse:
    """The free times of a booking link; choosing one books it (click, and done)."""
    if not _noted(request, INVITATIONS, invitation):
        return _error(request, "session", None, 403)
    found = get_object_or_404(
        Invitation.objects.select_related("agency", "location", "counselor"),
        public_id=invitation,
    )
    activate_language(request, found.language)
    try:
        services.check_invitation(found)
    except services.InvitationError as error:
        return _error(request, error.reason, found.agency, 410)
    problem, status = "", 200
    if request.method == "POST":
        key = request.POST.get("slot", "")
        if not key:
            problem, status = _("Please choose a time."), 400
        else:
            try:
                booking = services.book_with_invitation(found, key, language=get_language())
            except services.SlotTaken as error:
                problem, status = str(error), 409
            except services.InvitationError as error:
                return _error(request, error.reason, found.agency, 410)
            else:
                return _to_start_page(request, booking.token)
    agency = found.agency
    zone = slots.zone_of(agency)
    context = {
        "agency": agency,
        "look": look_of(agency, found.location),
        "kind": "invitation",
        "name": found.name,
        "problem": problem,
        **_days(request, services.invitation_slots(found), zone),
    }
    return _slots_page(request, context, status)


def _to_start_page(request: HttpRequest, token: str) -> HttpResponse:
    """Open the new appointment's personal link in this browser and show its start page."""
    link = open_link(token)
    remember(request, link)
    return redirect("journey:start", participant=link.member.public_id)


# The public booking page


def _page(agency: str, location=None) -> BookingPage:
    page = (
        BookingPage.objects.select_related("agency", "location")
        .filter(agency__slug=agency, enabled=True, location__public_id=location)
        .first()
        if location is not None
        else BookingPage.objects.select_related("agency")
        .filter(agency__slug=agency, enabled=True, location__isnull=True)
        .first()
    )
    if page is None or (page.location is not None and not page.location.active):
        raise Http404
    return page


@never_cache
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest, agency: str, location=None) -> HttpResponse:
    """The agency's (or location's) public booking page: choose a time, give name and address,
    confirm by e-mail."""
    found = _page(agency, location)
    form = PersonForm(request.POST or None)
    problem, status = "", 200
    if request.method == "POST":
        key = request.POST.get("slot", "")
        if not key:
            problem, status = _("Please choose a time."), 400
        if form.is_valid() and key:
            email = form.cleaned_data["email"]
            if not limits.allow_request(_address(request), email):
                response = render(
                    request, "booking/too_many.html", {"agency": found.agency}, status=429
                )
                response.headers["Retry-After"] = str(limits.retry_after())
                return response
            try:
                hold = services.hold_slot(found, key, language=get_language(), **form.cleaned_data)
            except services.SlotTaken as error:
                problem, status = str(error), 409
            else:
                _note(request, HOLDS, hold.public_id)
                return redirect("booking:held", hold=hold.public_id)
        elif status == 200:
            status = 400
    agency_found = found.agency
    zone = slots.zone_of(agency_found)
    context = {
        "agency": agency_found,
        "look": look_of(agency_found, found.location),
        "kind": "page",
        "page": found,
        "form": form,
        "chosen": request.POST.get("slot", ""),
        "problem": problem,
        "hold_minutes": settings.BOOKING_HOLD_MINUTES,
        **_days(request, services.page_slots(found), zone),
    }
    return _slots_page(request, context, status)


def _hold(request: HttpRequest, hold) -> Hold | None:
    if not _noted(request, HOLDS, hold):
        return None
    return (
        Hold.objects.select_related("page__agency", "location")
        .filter(public_id=hold, expires_at__gt=timezone.now())
        .first()
    )


def _hold_context(found: Hold) -> dict:
    agency = found.page.agency
    return {
        "agency": agency,
        "look": look_of(agency, found.location),
        "hold": found,
        "time_zone": slots.zone_of(agency),
    }


@never_cache
@require_GET
def held(request: HttpRequest, hold) -> HttpResponse:
    """The time is held: now the e-mail must be confirmed."""
    found = _hold(request, hold)
    if found is None:
        return _error(request, "hold", None, 410)
    return render(request, "booking/held.html", _hold_context(found))


@never_cache
@require_GET
def confirm_link(request: HttpRequest, token: str) -> HttpResponse:
    """Open the confirmation link from the e-mail; confirming takes a click on the page (mail
    programs that open links to check them must not book anything)."""
    if not link_limits.allow_lookup(_address(request)):
        return _too_many_lookups(request)
    try:
        found = services.open_hold(token)
    except services.HoldError:
        return _error(request, "hold", None, 410)
    activate_language(request, found.language)
    _note(request, HOLDS, found.public_id)
    return _no_referrer(redirect("booking:confirm", hold=found.public_id))


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, hold) -> HttpResponse:
    found = _hold(request, hold)
    if found is None:
        return _error(request, "hold", None, 410)
    activate_language(request, found.language)
    context = _hold_context(found)
    if request.method == "POST":
        try:
            booking = services.confirm_hold(found)
        except services.HoldError:
            return _error(request, "hold", found.page.agency, 410)
        except services.SlotTaken as error:
            found.delete()
            messages.error(request, str(error))
            return redirect(_page_url(found.page))
        return _to_start_page(request, booking.token)
    return render(request, "booking/confirm.html", context)


def _page_url(page: BookingPage) -> str:
    if page.location is None:
        return reverse("booking:page", args=[page.agency.slug])
    return reverse("booking:location_page", args=[page.agency.slug, page.location.public_id])


# Through the personal link: cancel or move


def _own(participant: Member):
    return services.self_booking_of(participant)


@require_http_methods(["GET", "POST"])
@participant_page
def manage(request: HttpRequest, participant: Member) -> HttpResponse:
    """Move the appointment to another free time, or go on to cancel it."""
    if _own(participant) is None:
        return redirect("journey:start", participant=participant.public_id)
    problem, status = "", 200
    if request.method == "POST":
        key = request.POST.get("slot", "")
        if not key:
            problem, status = _("Please choose a time."), 400
        else:
            try:
                services.rebook(participant, key)
            except services.BookingError as error:
                problem, status = str(error), 409
            else:
                messages.success(
                    request,
                    _(
                        "Your appointment has been moved. You will receive an e-mail with the "
                        "new time."
                    ),
                )
                return redirect("journey:start", participant=participant.public_id)
    appointment = participant.appointment
    zone = slots.zone_of(appointment.agency)
    context = _appointment_context(participant) | {
        "look": look_of(appointment.agency, appointment.location),
        "kind": "rebook",
        "problem": problem,
        **_days(request, services.rebook_slots(participant), zone),
    }
    context["time_zone"] = zone
    return _slots_page(request, context, status)


@require_http_methods(["GET", "POST"])
@participant_page
def cancel(request: HttpRequest, participant: Member) -> HttpResponse:
    """Cancel the appointment, after asking once."""
    if _own(participant) is None:
        return redirect("journey:start", participant=participant.public_id)
    appointment = participant.appointment
    context = _appointment_context(participant) | {
        "look": look_of(appointment.agency, appointment.location)
    }
    if request.method == "POST":
        try:
            services.cancel(participant)
        except services.BookingError as error:
            messages.error(request, str(error))
            return redirect("journey:start", participant=participant.public_id)
        page = (
            BookingPage.objects.filter(agency=appointment.agency, enabled=True)
            .select_related("agency", "location")
            .order_by(F("location").asc(nulls_first=True))
            .first()
        )
        context["new_booking_url"] = _page_url(page) if page is not None else ""
        return render(request, "booking/cancelled.html", context)
    return render(request, "booking/cancel.html", context)
