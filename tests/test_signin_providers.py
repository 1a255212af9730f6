"""Single sign-on per agency (S1, A1): an agency's administrator sets up its identity
providers, the client secret is kept and never shown or audited, and a provider vouches only
for its own agency's staff."""

import pytest
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialLogin
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from tests.oidcprovider import OIDCProvider
from tests.personas import make_staff

from videotermin.agencies.models import StaffMember
from videotermin.audit.models import AuditEntry
from videotermin.signin import services
from videotermin.signin.adapter import SocialAccountAdapter
from videotermin.signin.models import IdentityProvider

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-of-the-landesportal-0123456789abcdef"


@pytest.fixture(scope="module")
def idp():
    """A real OpenID Connect provider; only its discovery is used here."""
    with OIDCProvider(clients=[], accounts={}) as running:
        yield running


def provider_for(agency, *, by=None, **changes) -> IdentityProvider:
    values = {
        "name": "Landesportal",
        "issuer": "https://login.example.org",
        "client_id": "videotermin",
        "client_secret": SECRET,
        "match_by": IdentityProvider.Match.EMAIL,
        "create_accounts": False,
    }
    return services.add_provider(agency, by=by, **{**values, **changes})


def test_the_administrator_adds_a_provider_and_its_secret_is_never_shown_again(
    admin_client, admin_user, agency, idp
):
    response = admin_client.post(
        reverse("administration:signin_add"),
        {
            "name": "Landesportal",
            "issuer": idp.issuer + "/",
            "client_id": "videotermin",
            "client_secret": SECRET,
            "match_by": "email",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    provider = IdentityProvider.objects.get(agency=agency)
    assert provider.app.secret == SECRET
    assert provider.issuer == idp.issuer
    # PKCE on every provider.
    assert provider.app.settings["oauth_pkce_enabled"] is True
    listing = admin_client.get(reverse("administration:signin")).text
    assert "Landesportal" in listing
    assert f"/staff/sso/{provider.app.provider_id}/login/callback/" in listing
    edit = admin_client.get(reverse("administration:signin_edit", args=[provider.public_id]))
    assert SECRET not in edit.text and SECRET[-4:] in edit.text
    assert all(SECRET not in str(e.data) for e in AuditEntry.objects.all())
    assert AuditEntry.objects.filter(
        action="videotermin.signin.provider_added", actor=admin_user
    ).exists()


def test_changing_a_provider_without_a_new_secret_keeps_the_old_one(admin_client, agency, idp):
    provider = provider_for(agency, issuer=idp.issuer)
    url = reverse("administration:signin_edit", args=[provider.public_id])
    response = admin_client.post(
        url,
        {"name": "Portal", "issuer": idp.issuer, "client_id": "videotermin", "match_by": "subject"},
    )
    assert response.status_code == 302, response.context["form"].errors
    provider.refresh_from_db()
    provider.app.refresh_from_db()
    assert (provider.app.name, provider.app.secret, provider.match_by) == (
        "Portal",
        SECRET,
        "subject",
    )
    entry = AuditEntry.objects.get(action="videotermin.signin.provider_changed")
    assert entry.data["fields"] == ["match_by", "name"]


def test_an_address_that_is_no_provider_is_refused_in_german(admin_client, idp):
    with translation.override("de"):
        response = admin_client.post(
            reverse("administration:signin_add"),
            {
                "name": "Tippfehler",
                "issuer": idp.issuer + "/nothing-here",
                "client_id": "x",
                "client_secret": "y",
                "match_by": "email",
            },
            HTTP_ACCEPT_LANGUAGE="de",
        )
    assert response.status_code == 200
    assert "Bitte prüfen Sie die URL" in response.text
    assert not IdentityProvider.objects.exists()


def test_another_agencys_administrator_finds_no_provider_of_ours(client, agency, other_agency):
    provider = provider_for(agency)
    stranger = make_staff(other_agency, None, "olaf", "Olaf Admin")
    StaffMember.objects.filter(user=stranger).update(role=StaffMember.Role.ADMIN)
    client.force_login(stranger)
    assert "Landesportal" not in client.get(reverse("administration:signin")).text
    edit = reverse("administration:signin_edit", args=[provider.public_id])
    assert client.get(edit).status_code == 404
    remove = reverse("administration:signin_remove", args=[provider.public_id])
    assert client.post(remove).status_code == 404
    assert IdentityProvider.objects.filter(pk=provider.pk).exists()


def test_a_counselor_cannot_reach_the_sign_in_section(client, counselor):
    client.force_login(counselor)
    assert client.get(reverse("administration:signin")).status_code == 403


def test_removing_a_provider_removes_its_links_to_accounts(admin_client, agency, counselor):
    provider = provider_for(agency)
    SocialAccount.objects.create(user=counselor, provider=provider.app.provider_id, uid="alice")
    response = admin_client.post(reverse("administration:signin_remove", args=[provider.public_id]))
    assert response.status_code == 302
    assert not SocialApp.objects.exists() and not SocialAccount.objects.exists()
    assert AuditEntry.objects.filter(action="videotermin.signin.provider_removed").exists()


# Who a provider may sign in: the adapter's rules, with the claims a provider would send.


def arriving(provider: IdentityProvider, *, sub: str, email: str = "") -> tuple:
    """A request in the middle of the provider's callback, and allauth's SocialLogin of it."""
    request = RequestFactory().get("/staff/sso/callback/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    user = get_user_model()(email=email)
    account = SocialAccount(provider=provider.app.provider_id, uid=sub, extra_data={})
    addresses = [EmailAddress(email=email, verified=True, primary=True)] if email else []
    login = SocialLogin(
        provider=provider.app.get_provider(request),
        user=user,
        account=account,
        email_addresses=addresses,
    )
    return request, login


def pre_social_login(provider: IdentityProvider, **claims):
    from allauth.core import context

    request, login = arriving(provider, **claims)
    with context.request_context(request):
        login.lookup()
        SocialAccountAdapter(request).pre_social_login(request, login)
    return login


def refusal(provider: IdentityProvider, **claims) -> str:
    with translation.override("en"), pytest.raises(ImmediateHttpResponse) as refused:
        pre_social_login(provider, **claims)
    assert refused.value.response.status_code == 403
    return refused.value.response.content.decode()


def test_a_provider_signs_in_its_agencys_counselor_matched_by_e_mail(agency, counselor):
    counselor.email = "Alice.Berger@musterstadt.example"
    counselor.save()
    provider = provider_for(agency)
    login = pre_social_login(provider, sub="a-1", email="alice.berger@musterstadt.example")
    assert login.is_existing and login.user == counselor
    assert SocialAccount.objects.get(uid="a-1").user == counselor
    # The next sign-in finds the link, whatever the e-mail address says then.
    assert pre_social_login(provider, sub="a-1", email="new@example.org").user == counselor


def test_a_provider_matches_by_subject_when_told(agency, counselor):
    provider = provider_for(agency, match_by=IdentityProvider.Match.SUBJECT)
    assert pre_social_login(provider, sub="alice").user == counselor


def test_another_agencys_provider_is_refused_for_our_counselor(agency, counselor, other_agency):
    counselor.email = "alice@musterstadt.example"
    counselor.save()
    theirs = provider_for(other_agency, create_accounts=True)
    page = refusal(theirs, sub="x-9", email="alice@musterstadt.example")
    assert "belongs to another agency" in page
    assert not SocialAccount.objects.exists()
    assert get_user_model().objects.filter(email__iexact="alice@musterstadt.example").count() == 1
    # By subject just the same.
    by_subject = provider_for(other_agency, match_by=IdentityProvider.Match.SUBJECT)
    assert "belongs to another agency" in refusal(by_subject, sub="alice")


def test_a_link_made_for_one_agency_signs_in_nobody_through_another(
    agency, counselor, other_agency
):
    theirs = provider_for(other_agency)
    SocialAccount.objects.create(user=counselor, provider=theirs.app.provider_id, uid="a-1")
    assert "does not belong to the agency" in refusal(theirs, sub="a-1")


def test_somebody_without_an_account_is_refused_unless_the_agency_lets_it_create_one(agency):
    provider = provider_for(agency)
    assert "no staff account for you" in refusal(provider, sub="n-1", email="neu@example.org")
    provider.create_accounts = True
    provider.save()
    login = pre_social_login(provider, sub="n-1", email="neu@example.org")
    assert not login.is_existing  # allauth's signup follows: see the browser test


def test_two_accounts_of_the_agency_with_the_same_address_are_not_guessed_between(
    agency, counselor, colleague
):
    for user in (counselor, colleague):
        user.email = "team@musterstadt.example"
        user.save()
    provider = provider_for(agency)
    assert "Several staff accounts" in refusal(
        provider, sub="t-1", email="team@musterstadt.example"
    )
