"""allauth's sign-in form as the staff have always posted it; an identity provider's form."""

import requests
from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from videotermin.signin.models import IdentityProvider
from videotermin.signin.services import masked

# An administrator waits for the answer; a provider that takes longer is not working.
DISCOVERY_TIMEOUT = 5


class LoginForm(AllauthLoginForm):
    """allauth's form, its "login" field named "username" in the page and the request, as
    Django's form had it (password managers, django-axes and scripts know that name)."""

    def add_prefix(self, field_name: str) -> str:
        return super().add_prefix("username" if field_name == "login" else field_name)


class ProviderForm(forms.Form):
    """An identity provider as the agency's administrator describes it."""

    name = forms.CharField(
        label=_("Name"),
        max_length=40,
        help_text=_("Shown on the sign-in button, e.g. “Landesportal” or “Active Directory”."),
    )
    issuer = forms.URLField(
        label=_("Issuer URL"),
        max_length=300,
        assume_scheme="https",
        help_text=_(
            "The provider's address; its settings are read from "
            "/.well-known/openid-configuration below it."
        ),
    )
    client_id = forms.CharField(label=_("Client ID"), max_length=191)
    client_secret = forms.CharField(
        label=_("Client secret"),
        max_length=191,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    match_by = forms.ChoiceField(
        label=_("Match staff accounts by"),
        choices=IdentityProvider.Match.choices,
        initial=IdentityProvider.Match.EMAIL,
        widget=forms.RadioSelect,
        help_text=_("Only accounts of this agency are matched, never another agency's."),
    )
    create_accounts = forms.BooleanField(
        label=_("Create counselor accounts"),
        required=False,
        help_text=IdentityProvider._meta.get_field("create_accounts").help_text,
    )

    def __init__(self, *args, stored_secret: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if stored_secret:
            # Changing a provider: the secret stays unless a new one is given.
            self.fields["client_secret"].required = False
            self.fields["client_secret"].help_text = _(
                "Stored: %(masked)s. Leave empty to keep it."
            ) % {"masked": masked(stored_secret)}

    def clean_issuer(self) -> str:
        issuer = self.cleaned_data["issuer"].rstrip("/")
        if settings.PRODUCTION and not issuer.startswith("https://"):
            raise forms.ValidationError(_("The issuer URL must start with https://."))
        try:
            response = requests.get(
                f"{issuer}/.well-known/openid-configuration",
                timeout=DISCOVERY_TIMEOUT,
                allow_redirects=False,
            )
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise forms.ValidationError(
                _("The provider did not answer at this address. Check the URL.")
            ) from error
        if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
            raise forms.ValidationError(
                _("The provider at this address names another issuer. Check the URL.")
            )
        if not {"authorization_endpoint", "token_endpoint", "jwks_uri"} <= set(document):
            raise forms.ValidationError(
                _("The provider at this address is no OpenID Connect provider.")
            )
        return issuer
