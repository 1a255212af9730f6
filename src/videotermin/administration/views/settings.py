"""The agency's own settings: support contact, times, retention, reminders, security policy."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from videotermin.administration import services
from videotermin.administration.access import admin_required, agency_of
from videotermin.administration.forms import SettingsForm


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("administration:settings")


@admin_required
def settings(request: HttpRequest) -> HttpResponse:
    agency = agency_of(request)
    form = SettingsForm(request.POST or None, instance=agency)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in services.SETTINGS}
        services.change_settings(agency, by=request.user, **values)
        messages.success(request, _("The settings are saved."))
        return redirect("administration:settings")
    return render(request, "administration/settings.html", {"form": form, "section": "settings"})
