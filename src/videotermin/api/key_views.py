"""The agency's API keys in the administration: list, create, rotate, revoke.

A key's whole value is shown once, on the page that answers its creation or rotation, and
never stored: only its hash is.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from videotermin.administration.access import admin_required, agency_of
from videotermin.administration.rules import NotAllowed
from videotermin.api import services
from videotermin.api.key_forms import KeyForm, RotateForm
from videotermin.api.models import ApiKey


def _get_key(request: HttpRequest, public_id: str) -> ApiKey:
    """Only the administrator's own agency's keys exist for them; any other is a 404."""
    keys = ApiKey.objects.filter(agency=agency_of(request)).select_related("agency")
    return get_object_or_404(keys, public_id=public_id)


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, f"api/{template}", {"section": "api_keys", **context})


def _show_once(request: HttpRequest, issued: services.IssuedKey, created: bool) -> HttpResponse:
    context = {"key": issued.key, "value": issued.value, "created": created}
    response = _render(request, "key_value.html", context)
    # The page holds the secret: no cache, no back button, keeps it.
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0"
    return response


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    keys = ApiKey.objects.filter(agency=agency_of(request)).order_by("revoked_at", "name")
    return _render(request, "keys.html", {"keys": keys})


@admin_required
def create(request: HttpRequest) -> HttpResponse:
    form = KeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.create_key(agency_of(request), by=request.user, **form.cleaned_data)
        except NotAllowed as error:
            form.add_error("name", str(error))
        else:
            return _show_once(request, issued, created=True)
    return _render(request, "key_form.html", {"form": form})


@admin_required
def rotate(request: HttpRequest, public_id: str) -> HttpResponse:
    key = _get_key(request, public_id)
    if key.is_revoked:
        messages.error(request, _("A revoked key cannot be rotated."))
        return redirect("api_keys:index")
    form = RotateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.rotate_key(
                key, by=request.user, overlap_hours=form.cleaned_data["overlap_hours"]
            )
        except NotAllowed as error:
            form.add_error(None, str(error))
        else:
            return _show_once(request, issued, created=False)
    return _render(request, "key_rotate.html", {"key": key, "form": form})


@admin_required
def revoke(request: HttpRequest, public_id: str) -> HttpResponse:
    key = _get_key(request, public_id)
    if request.method == "POST":
        services.revoke_key(key, by=request.user)
        messages.success(
            request, _("The key %(name)s is revoked; it works no more.") % {"name": key.name}
        )
        return redirect("api_keys:index")
    return _render(request, "key_revoke.html", {"key": key})
