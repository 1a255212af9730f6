"""Second factors and an agency's identity providers: the rules and the audited changes."""

import secrets
from collections.abc import Mapping
from typing import Any

from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.db import transaction

from videotermin.agencies.models import Agency
from videotermin.audit import services as audit
from videotermin.signin.models import IdentityProvider

# Recovery codes only stand in for one of these; alone they are no second factor.
FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
PROVIDER_FIELDS = ("name", "issuer", "client_id", "client_secret", "match_by", "create_accounts")


def has_second_factor(user) -> bool:
    """Whether the user has an authenticator app or a security key set up."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return Authenticator.objects.filter(user=user, type__in=FACTORS).exists()


def users_with_second_factor(user_ids) -> set[int]:
    """Of these users, the ones with a second factor (one query for a whole list)."""
    return set(
        Authenticator.objects.filter(user_id__in=list(user_ids), type__in=FACTORS).values_list(
            "user_id", flat=True
        )
    )


def signed_in_through_provider(session: Mapping[str, Any] | None) -> bool:
    """Whether this session's sign-in went through one of the agency's identity providers."""
    records = (session or {}).get(AUTHENTICATION_METHODS_SESSION_KEY) or []
    return any(isinstance(r, dict) and r.get("method") == "socialaccount" for r in records)


def second_factor_missing(user, session: Mapping[str, Any] | None) -> bool:
    """Whether the agency's policy holds this signed-in staff member until a factor is set up.

    A sign-in through the agency's own identity provider is that provider's to secure (its
    own factors apply there); everybody else who signs in with a password needs one here.
    """
    staff = getattr(user, "staff", None) if getattr(user, "is_authenticated", False) else None
    if staff is None or not staff.agency.require_second_factor:
        return False
    return not signed_in_through_provider(session) and not has_second_factor(user)


def _app_settings(issuer: str) -> dict:
    # PKCE on every provider, whatever allauth's global default.
    return {"server_url": issuer, "oauth_pkce_enabled": True}


def add_provider(agency: Agency, *, by, **values) -> IdentityProvider:
    """Add an identity provider for the agency; the secret is stored and never audited."""
    with transaction.atomic():
        app = SocialApp.objects.create(
            provider="openid_connect",
            provider_id=f"{agency.slug}-{secrets.token_hex(4)}",
            name=values["name"],
            client_id=values["client_id"],
            secret=values["client_secret"],
            settings=_app_settings(values["issuer"]),
        )
        provider = IdentityProvider.objects.create(
            agency=agency,
            app=app,
            match_by=values["match_by"],
            create_accounts=values["create_accounts"],
        )
        audit.record(
            "signin.provider_added",
            agency=agency,
            by=by,
            provider=str(provider.public_id),
            issuer=values["issuer"],
        )
    return provider


def change_provider(provider: IdentityProvider, *, by, **values) -> IdentityProvider:
    """Change a provider; an empty client secret keeps the stored one. The audit entry names
    the fields changed, never a value of the secret."""
    unknown = set(values) - set(PROVIDER_FIELDS)
    if unknown:
        raise ValueError(f"not a provider field: {sorted(unknown)}")
    with transaction.atomic():
        provider = (
            IdentityProvider.objects.select_for_update().select_related("app").get(pk=provider.pk)
        )
        app = provider.app
        current = {
            "name": app.name,
            "issuer": provider.issuer,
            "client_id": app.client_id,
            "client_secret": app.secret,
            "match_by": provider.match_by,
            "create_accounts": provider.create_accounts,
        }
        if not values.get("client_secret"):
            values.pop("client_secret", None)
        changed = sorted(name for name, value in values.items() if current[name] != value)
        if not changed:
            return provider
        new = {**current, **values}
        app.name, app.client_id, app.secret = new["name"], new["client_id"], new["client_secret"]
        app.settings = {**app.settings, **_app_settings(new["issuer"])}
        app.save()
        provider.match_by, provider.create_accounts = new["match_by"], new["create_accounts"]
        provider.save(update_fields=["match_by", "create_accounts"])
        audit.record(
            "signin.provider_changed",
            agency=provider.agency,
            by=by,
            provider=str(provider.public_id),
            fields=changed,
        )
    return provider


def remove_provider(provider: IdentityProvider, *, by) -> None:
    """Remove a provider; the accounts it signed in stay, with their other ways to sign in."""
    with transaction.atomic():
        audit.record(
            "signin.provider_removed",
            agency=provider.agency,
            by=by,
            provider=str(provider.public_id),
        )
        # The links to its users go with it: a provider added again starts matching afresh.
        SocialAccount.objects.filter(provider=provider.app.provider_id).delete()
        provider.app.delete()


def masked(secret: str) -> str:
    """Enough of a stored secret to tell which one it is, never enough to use it."""
    if len(secret) < 12:
        return "••••"
    return "••••" + secret[-4:]
