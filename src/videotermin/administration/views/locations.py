"""The agency's locations: list, add, change, close for booking, reopen, remove."""

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from videotermin.administration import locations as services
from videotermin.administration.access import admin_required, agency_of
from videotermin.administration.rules import NotAllowed
from videotermin.administration.staff_forms import LocationForm
from videotermin.agencies.models import Location


def _get_location(request: HttpRequest, location_id) -> Location:
    """Only the administrator's own agency's locations exist for them; any other is a 404."""
    return get_object_or_404(agency_of(request).locations, public_id=location_id)


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, f"administration/{template}", {"section": "locations", **context})


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    locations = (
        agency_of(request)
        .locations.annotate(appointment_count=Count("appointments", distinct=True))
        .annotate(staff_count=Count("staffmember", distinct=True))
        .order_by("-active", "name")
    )
    return _render(request, "locations.html", {"locations": locations})


@admin_required
def add(request: HttpRequest) -> HttpResponse:
    form = LocationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            location = services.add_location(
                agency_of(request), by=request.user, **form.cleaned_data
            )
        except NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("The location %(name)s is added.") % {"name": location.name}
            )
            return redirect("administration:locations")
    return _render(request, "location_form.html", {"form": form, "location": None})


@admin_required
def change(request: HttpRequest, location_id) -> HttpResponse:
    location = _get_location(request, location_id)
    initial = {"name": location.name, "address": location.address}
    form = LocationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            location = services.change_location(location, by=request.user, **form.cleaned_data)
        except NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("The location %(name)s is saved.") % {"name": location.name}
            )
            return redirect("administration:locations")
    context = {
        "form": form,
        "location": location,
        "removal_obstacle": services.removal_obstacle(location),
    }
    return _render(request, "location_form.html", context)


@require_POST
@admin_required
def close(request: HttpRequest, location_id) -> HttpResponse:
    location = _get_location(request, location_id)
    try:
        services.close_location(location, by=request.user)
    except NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(name)s is closed for booking; its appointments stay as they are.")
            % {"name": location.name},
        )
    return redirect("administration:locations")


@require_POST
@admin_required
def reopen(request: HttpRequest, location_id) -> HttpResponse:
    location = _get_location(request, location_id)
    services.reopen_location(location, by=request.user)
    messages.success(request, _("%(name)s is open for booking again.") % {"name": location.name})
    return redirect("administration:locations")


@admin_required
def remove(request: HttpRequest, location_id) -> HttpResponse:
    location = _get_location(request, location_id)
    if request.method == "POST":
        try:
            services.remove_location(location, by=request.user)
        except NotAllowed as error:
            messages.error(request, str(error))
            return redirect("administration:location", location_id=location.public_id)
        messages.success(request, _("The location %(name)s is removed.") % {"name": location.name})
        return redirect("administration:locations")
    context = {"location": location, "removal_obstacle": services.removal_obstacle(location)}
    return _render(request, "location_remove.html", context)
