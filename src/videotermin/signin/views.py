"""What the sign-in page offers besides the password: the agency's identity providers."""

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import reverse

from videotermin.agencies.models import Agency
from videotermin.signin.models import IdentityProvider


def single_sign_on_choices(request: HttpRequest) -> dict:
    """The chosen agency's providers (`?agency=<short name>`), or the agencies to choose from.

    Only agencies that set up a provider are named, and only their names.
    """
    agencies = Agency.objects.filter(identity_providers__isnull=False).distinct().order_by("name")
    chosen = agencies.filter(slug=request.GET.get("agency", "")).first()
    providers = []
    if chosen is not None:
        next_url = request.GET.get("next", "")
        for provider in IdentityProvider.objects.filter(agency=chosen).select_related("app"):
            url = reverse("openid_connect_login", kwargs={"provider_id": provider.app.provider_id})
            providers.append(
                {
                    "name": provider.app.name,
                    "url": url,
                    "next": next_url,
                    "origin": _origin(provider.issuer),
                }
            )
    return {"sso_agencies": agencies, "sso_agency": chosen, "sso_providers": providers}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
