"""Sign-in: the agency's own identity providers (OpenID Connect) for single sign-on."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from videotermin.administration.access import admin_required, agency_of
from videotermin.signin import services
from videotermin.signin.forms import ProviderForm
from videotermin.signin.models import IdentityProvider


def _callback_url(provider: IdentityProvider) -> str:
    """Where the provider sends the browser back: the administrator registers it there."""
    path = reverse("openid_connect_callback", kwargs={"provider_id": provider.app.provider_id})
    return settings.SITE_URL + path


def _provider(request: HttpRequest, public_id) -> IdentityProvider:
    """Only the administrator's own agency's providers exist for them."""
    return get_object_or_404(
        IdentityProvider.objects.select_related("app", "agency"),
        agency=agency_of(request),
        public_id=public_id,
    )


@admin_required
def providers(request: HttpRequest) -> HttpResponse:
    agency = agency_of(request)
    rows = [
        {"provider": provider, "callback_url": _callback_url(provider)}
        for provider in IdentityProvider.objects.filter(agency=agency).select_related("app")
    ]
    login_url = settings.SITE_URL + reverse("staff:login") + f"?agency={agency.slug}"
    context = {"rows": rows, "login_url": login_url, "section": "signin"}
    return render(request, "administration/signin.html", context)


@sensitive_post_parameters("client_secret")
@admin_required
def add_provider(request: HttpRequest) -> HttpResponse:
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        provider = services.add_provider(agency_of(request), by=request.user, **form.cleaned_data)
        messages.success(
            request,
            _("%(name)s was added. Register the return address shown here with the provider.")
            % {"name": provider.app.name},
        )
        return redirect("administration:signin")
    context = {"form": form, "provider": None, "section": "signin"}
    return render(request, "administration/signin_provider.html", context)


@sensitive_post_parameters("client_secret")
@admin_required
def edit_provider(request: HttpRequest, public_id) -> HttpResponse:
    provider = _provider(request, public_id)
    initial = {
        "name": provider.app.name,
        "issuer": provider.issuer,
        "client_id": provider.app.client_id,
        "match_by": provider.match_by,
        "create_accounts": provider.create_accounts,
    }
    form = ProviderForm(request.POST or None, initial=initial, stored_secret=provider.app.secret)
    if request.method == "POST" and form.is_valid():
        services.change_provider(provider, by=request.user, **form.cleaned_data)
        messages.success(request, _("The changes are saved."))
        return redirect("administration:signin")
    context = {
        "form": form,
        "provider": provider,
        "callback_url": _callback_url(provider),
        "section": "signin",
    }
    return render(request, "administration/signin_provider.html", context)


@admin_required
@require_POST
def remove_provider(request: HttpRequest, public_id) -> HttpResponse:
    provider = _provider(request, public_id)
    name = provider.app.name
    services.remove_provider(provider, by=request.user)
    messages.success(request, _("%(name)s was removed.") % {"name": name})
    return redirect("administration:signin")
