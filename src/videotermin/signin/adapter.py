"""How allauth signs staff in here: nobody signs up, an agency's identity provider vouches
only for that agency's staff, and a second factor the agency requires cannot be removed."""

from typing import NoReturn

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from videotermin.agencies.models import StaffMember
from videotermin.audit import services as audit
from videotermin.resources import licences
from videotermin.signin.models import IdentityProvider
from videotermin.signin.services import FACTORS


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Administrators create staff accounts; nobody signs up."""
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """An analyst has no day view: the statistics are where their work is."""
        staff = getattr(request.user, "staff", None)
        if staff is not None and staff.is_analyst:
            return reverse("stats:index")
        return super().get_login_redirect_url(request)


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """Under the agency's policy the last authenticator app or security key stays."""
        staff = StaffMember.objects.filter(user_id=authenticator.user_id).first()
        if staff is None or not staff.agency.require_second_factor:
            return True
        others = Authenticator.objects.filter(user_id=authenticator.user_id, type__in=FACTORS)
        return others.exclude(pk=authenticator.pk).exists()


def _refuse(
    request: HttpRequest, message: str, provider: IdentityProvider | None = None
) -> NoReturn:
    if provider is not None:
        audit.record(
            "signin.provider_refused",
            agency=provider.agency,
            by=None,
            provider=str(provider.public_id),
        )
    response = render(request, "signin/refused.html", {"message": message}, status=403)
    raise ImmediateHttpResponse(response)


def provider_of(sociallogin: SocialLogin) -> IdentityProvider | None:
    """The agency's provider row behind this sign-in (allauth's provider_id names the app)."""
    return (
        IdentityProvider.objects.select_related("agency", "app")
        .filter(app__provider="openid_connect", app__provider_id=sociallogin.account.provider)
        .first()
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Matches a provider's user to a staff account of the provider's agency, and only there."""

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        provider = provider_of(sociallogin)
        if provider is None:
            _refuse(request, _("This sign-in service is not set up for any agency."))
        assert provider is not None
        if sociallogin.is_existing:
            staff = StaffMember.objects.filter(user=sociallogin.user).first()
            if staff is None or staff.agency_id != provider.agency_id:
                _refuse(
                    request,
                    _("This account does not belong to the agency of this sign-in service."),
                    provider,
                )
            return
        users = self._candidates(provider, sociallogin)
        own = [
            u for u in users if StaffMember.objects.filter(user=u, agency=provider.agency).exists()
        ]
        if len(own) == 1:
            sociallogin.connect(request, own[0])
            audit.record(
                "signin.account_linked",
                agency=provider.agency,
                by=own[0],
                provider=str(provider.public_id),
            )
            return
        if len(own) > 1:
            _refuse(
                request,
                _(
                    "Several staff accounts of your agency match you. Please ask "
                    "your agency's administrator to correct them."
                ),
                provider,
            )
        if users:
            _refuse(
                request,
                _(
                    "A staff account with your details belongs to another agency. "
                    "You can only sign in to your own agency's workspace."
                ),
                provider,
            )
        if not provider.create_accounts:
            _refuse(
                request,
                _(
                    "Your agency has no staff account for you. Please ask your "
                    "agency's administrator to create one."
                ),
                provider,
            )
        # The account it would create takes a counselor seat of the agency's licence.
        if refusal := licences.sign_in_seat_refusal(provider.agency_id):
            _refuse(request, str(refusal), provider)

    def _candidates(self, provider: IdentityProvider, sociallogin: SocialLogin) -> list:
        """Accounts that the provider's claims point at, of any agency (to refuse the others)."""
        users = get_user_model().objects.all()
        if provider.match_by == IdentityProvider.Match.SUBJECT:
            return list(users.filter(username=sociallogin.account.uid))
        emails = {a.email.lower() for a in sociallogin.email_addresses if a.email}
        if sociallogin.user is not None and sociallogin.user.email:
            emails.add(sociallogin.user.email.lower())
        if not emails:
            return []
        same = Q()
        for email in emails:
            same |= Q(email__iexact=email)
        return list(users.filter(same))

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        provider = provider_of(sociallogin)
        return provider is not None and provider.create_accounts

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form=None):
        """A new counselor of the provider's agency, without a password of ours. The licence's
        row is locked while the account is made, so that two people signing in at once never
        take its last seat twice (pre_social_login's check only spares a hopeless sign-up)."""
        provider = provider_of(sociallogin)
        assert provider is not None and provider.create_accounts
        with transaction.atomic():
            refusal = licences.sign_in_seat_refusal(provider.agency_id, lock=True)
            if refusal is None:
                user = super().save_user(request, sociallogin, form)
                StaffMember.objects.create(user=user, agency=provider.agency)
                audit.record(
                    "signin.account_created",
                    agency=provider.agency,
                    by=user,
                    provider=str(provider.public_id),
                )
        if refusal is not None:
            _refuse(request, str(refusal), provider)
        return user
