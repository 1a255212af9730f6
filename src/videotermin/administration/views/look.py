"""The agency's look (A2): logo, colours and, per location, what differs; with a preview."""

import base64
from dataclasses import replace

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from videotermin.administration import services
from videotermin.administration.access import admin_required, agency_of
from videotermin.administration.forms import LookForm
from videotermin.agencies import look as looks
from videotermin.agencies.models import Agency, Location


@admin_required
def agency_look(request: HttpRequest) -> HttpResponse:
    return _edit(request, agency_of(request))


@admin_required
def location_look(request: HttpRequest, location_id) -> HttpResponse:
    # Only the administrator's own agency's locations exist for them; any other is a 404.
    location = get_object_or_404(agency_of(request).locations, public_id=location_id)
    return _edit(request, location)


def _edit(request: HttpRequest, owner: Agency | Location) -> HttpResponse:
    agency = owner if isinstance(owner, Agency) else owner.agency
    location = owner if isinstance(owner, Location) else None
    current = looks.look_of(agency, location)
    initial: dict[str, object] = {"primary_color": current.primary, "text_color": current.text}
    if location is not None:
        initial.update(
            display_name=location.display_name,
            own_colors=bool(location.primary_color or location.text_color),
        )
    form = LookForm(
        request.POST or None, request.FILES or None, initial=initial, for_location=bool(location)
    )
    preview = current
    if request.method == "POST" and form.is_valid():
        values = form.look_values()
        if "preview" not in request.POST:
            try:
                services.change_look(owner, by=request.user, **values)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("The look is saved."))
                return redirect(request.path)
        preview = _preview(current, agency, values)
    return render(
        request,
        "administration/look.html",
        {
            "form": form,
            "section": "look",
            "location": location,
            "locations": agency.locations.order_by("name") if location is None else (),
            "preview": preview,
            "ratios": {
                "on_white": _ratio(looks.contrast(preview.primary, looks.WHITE)),
                "on_primary": _ratio(looks.contrast(preview.text, preview.primary)),
            },
        },
    )


def _preview(current: looks.Look, agency: Agency, values: dict) -> looks.Look:
    """The look as it would be with `values`, unsaved; a new logo shown from a data: URL."""
    preview = replace(
        current,
        primary=values["primary_color"] or agency.primary_color,
        text=values["text_color"] or agency.text_color,
    )
    if "display_name" in values:
        preview = replace(preview, name=values["display_name"] or agency.name)
    logo = values.get("logo", current)
    if logo is None:
        # Without a logo of its own, a location shows the agency's.
        fallback = looks.look_of(agency) if "display_name" in values else looks.Look("", "", "")
        preview = replace(
            preview,
            logo_digest=fallback.logo_digest,
            logo_type=fallback.logo_type,
            logo_width=fallback.logo_width,
            logo_height=fallback.logo_height,
        )
    elif logo is not current:
        encoded = base64.b64encode(logo.data).decode()
        preview = replace(
            preview,
            logo_type=logo.content_type,
            logo_width=logo.width,
            logo_height=logo.height,
            logo_data_url=f"data:{logo.content_type};base64,{encoded}",
        )
    return preview


def _ratio(value: float) -> str:
    return f"{int(value * 10) / 10:.1f}"
