"""The voluntary, anonymous survey after the consultation (J13)."""

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from videotermin.appointments.services import NotAllowed
from videotermin.journey.access import activate_language, find_participant
from videotermin.survey import services as survey
from videotermin.survey.forms import SurveyForm


def _today(agency) -> date:
    try:
        zone = ZoneInfo(agency.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone.get_default_timezone()
    return timezone.localdate(timezone=zone)


@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, participant) -> HttpResponse:
    """Ask the three questions; the answer keeps only the agency and the day."""
    # The link itself has expired by now; the session that used it is what counts.
    found = find_participant(request, participant)
    if found is None:
        return render(request, "survey/unavailable.html", status=403)
    activate_language(request, found.language)
    agency = found.appointment.agency
    appointment = found.appointment
    # Left by accident? While the consultation runs, the way back stays open (J12).
    running = appointment.is_running and not found.removed_at and appointment.links_valid()
    room_url = reverse("journey:room", args=[found.public_id]) if running else None
    if found.survey_answered:
        context = {"agency": agency, "again": True, "room_url": room_url}
        return render(request, "survey/thanks.html", context)
    if not survey.is_open_for(found):
        # Before the consultation there is nothing to ask about yet.
        return render(request, "survey/unavailable.html", {"not_yet": True}, status=409)
    form = SurveyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            survey.answer(found, day=_today(agency), **form.cleaned_data)
        except NotAllowed:
            # Answered meanwhile in another tab: the first answer counts.
            return render(request, "survey/thanks.html", {"agency": agency, "again": True})
        if room_url:
            # Still running: the thanks keep the way back (a reload asks nothing twice).
            return render(request, "survey/thanks.html", {"agency": agency, "room_url": room_url})
        return redirect("survey:thanks", participant=found.public_id)
    context = {"form": form, "agency": agency, "room_url": room_url, "participant": found.public_id}
    return render(request, "survey/start.html", context)


def thanks(request: HttpRequest, participant) -> HttpResponse:
    """The thanks, in the participant's language like every page before it (a session that
    has ended meanwhile gets them in the browser's)."""
    found = find_participant(request, participant)
    if found is None:
        return render(request, "survey/thanks.html", {})
    activate_language(request, found.language)
    return render(request, "survey/thanks.html", {"agency": found.appointment.agency})
