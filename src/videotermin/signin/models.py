"""An agency's own identity providers: allauth's SocialApp rows, each tied to one agency."""

import uuid

from allauth.socialaccount.models import SocialApp
from django.db import models
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency


class IdentityProvider(models.Model):
    """An OpenID Connect provider that vouches for staff of exactly one agency."""

    class Match(models.TextChoices):
        EMAIL = "email", _("e-mail address")
        SUBJECT = "subject", _("user name equals the provider's subject (sub)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="identity_providers")
    # Name, issuer, client id and secret live in allauth's row; provider_id names it in URLs.
    app = models.OneToOneField(SocialApp, on_delete=models.CASCADE, related_name="agency_link")
    match_by = models.CharField(
        _("match staff accounts by"), max_length=20, choices=Match.choices, default=Match.EMAIL
    )
    create_accounts = models.BooleanField(
        _("create counselor accounts"),
        default=False,
        help_text=_(
            "Somebody the provider vouches for who has no staff account yet gets a counselor "
            "account of this agency."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")

    def __str__(self) -> str:
        return self.app.name

    @property
    def issuer(self) -> str:
        return self.app.settings.get("server_url", "")
