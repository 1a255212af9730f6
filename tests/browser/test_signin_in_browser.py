"""Staff sign-in in a real browser (S1, N10): an authenticator app whose codes are computed
from the secret on the page, a security key in Chromium's virtual authenticator, the agency's
policy that leads to setting one up, and single sign-on through a real OpenID Connect provider
(npm oidc-provider) with PKCE, for its own agency only."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from tests.browser.conftest import log_in
from tests.oidcprovider import OIDCProvider
from tests.personas import PASSWORD
from tests.signin_helpers import totp_code

from videotermin.audit.models import AuditEntry
from videotermin.signin import services
from videotermin.signin.models import IdentityProvider

pytestmark = pytest.mark.browser

expect.set_options(timeout=30_000)


def confirm_password_if_asked(page) -> None:
    """allauth asks for the password again before a second factor is added."""
    if "/account/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.click("main form [type=submit]")
        page.wait_for_load_state()


def sign_out(page) -> None:
    page.click(".staff-nav form [type=submit]")
    expect(page).to_have_url(re.compile(r"/staff/login/"))


def test_a_counselor_sets_up_an_authenticator_app_and_signs_in_with_its_code(
    new_context, counselor
):
    page = new_context(locale="de-DE").new_page()
    log_in(page)
    page.goto(reverse("mfa_activate_totp"))
    confirm_password_if_asked(page)
    # The QR code is drawn by our own server, inline; nothing comes from elsewhere.
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    secret = page.input_value("#authenticator_secret")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.fill("input[name=code]", totp_code(secret))
    page.click("main form [type=submit]")
    # allauth shows the recovery codes next.
    expect(page).to_have_url(re.compile(r"/second-factor/recovery-codes/"))
    sign_out(page)

    log_in(page)
    expect(page).to_have_url(re.compile(r"/second-factor/authenticate/"))
    expect(page.locator("h1")).to_have_text("Zwei-Faktor-Authentifizierung")
    page.fill("input[name=code]", totp_code(secret))
    page.click("main form [type=submit] >> nth=0")
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.locator(".staff-nav")).to_contain_text("Alice Berger")


@pytest.fixture
def localhost_context(browser, server, settings):
    """A browser context on http://localhost:PORT: a security key's relying party is a domain
    name, never an address."""
    origin = server.url.replace("127.0.0.1", "localhost")
    settings.CSRF_TRUSTED_ORIGINS = [server.url, origin]
    context = browser.new_context(base_url=origin)
    context.set_default_timeout(30_000)
    yield context
    context.close()


def test_a_counselor_registers_a_security_key_and_signs_in_with_it(localhost_context, counselor):
    context = localhost_context
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]

    log_in(page)
    page.goto(reverse("mfa_add_webauthn"))
    confirm_password_if_asked(page)
    page.fill("input[name=name]", "Dienstschlüssel")
    page.click("#mfa_webauthn_add")
    expect(page).to_have_url(re.compile(r"/second-factor/recovery-codes/"))
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1
    sign_out(page)

    log_in(page)
    expect(page).to_have_url(re.compile(r"/second-factor/authenticate/"))
    page.click("#mfa_webauthn_authenticate")
    expect(page).to_have_url(re.compile(r"/staff/$"))
    assert AuditEntry.objects.filter(
        action="videotermin.signin.second_factor_added", data={"type": "webauthn"}
    ).exists()


def test_under_the_policy_a_counselor_must_set_up_a_second_factor_first(
    new_context, counselor, agency
):
    agency.require_second_factor = True
    agency.save()
    page = new_context(locale="de-DE").new_page()
    log_in(page)
    expect(page).to_have_url(re.compile(r"/second-factor/$"))
    expect(page.locator(".policy-notice")).to_contain_text(
        "Ihre Behörde verlangt einen zweiten Faktor"
    )
    for path in (reverse("staff:day"), reverse("staff:check"), reverse("staff:create")):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/second-factor/$"))
    expect(page.locator("h1")).not_to_have_text("Termine")


# Single sign-on through the agency's own identity provider.


def with_identity_provider(agency, server, accounts, **options):
    """A real provider on loopback, registered as the agency's, knowing our return address."""
    idp = OIDCProvider(clients=[], accounts=accounts)
    provider = services.add_provider(
        agency,
        by=None,
        name=options.pop("name", "Landesportal"),
        issuer=idp.issuer,
        client_id="videotermin",
        client_secret="secret-of-the-provider-0123456789abcdef",
        match_by=IdentityProvider.Match.EMAIL,
        create_accounts=options.pop("create_accounts", False),
    )
    callback = reverse("openid_connect_callback", kwargs={"provider_id": provider.app.provider_id})
    idp.config["clients"] = [
        {
            "client_id": "videotermin",
            "client_secret": "secret-of-the-provider-0123456789abcdef",
            "redirect_uris": [server.url + callback],
        }
    ]
    return idp, provider


def sign_in_at_the_provider(
    page, agency, login: str, button: str = "Sign in with Landesportal"
) -> None:
    page.goto(reverse("staff:login") + f"?agency={agency.slug}")
    with page.expect_request(re.compile(r"/auth\?")) as authorization:
        page.click(f"text={button}")
    # Authorization code flow with PKCE (the provider also refuses any client without it).
    query = authorization.value.url
    assert "response_type=code" in query
    assert "code_challenge=" in query and "code_challenge_method=S256" in query
    # The provider's own development sign-in pages: any password, then consent.
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "at the provider")
    page.click("button[type=submit]")
    page.click("button:has-text('Continue')")


def test_a_counselor_signs_in_through_her_agencys_identity_provider(
    new_context, server, agency, counselor
):
    counselor.email = "alice.berger@musterstadt.example"
    counselor.save()
    accounts = {"a.berger": {"email": "Alice.Berger@musterstadt.example", "name": "Alice Berger"}}
    idp, provider = with_identity_provider(agency, server, accounts)
    with idp:
        page = new_context(locale="en-GB").new_page()
        sign_in_at_the_provider(page, agency, "a.berger")
        expect(page).to_have_url(re.compile(r"/staff/$"))
        expect(page.locator(".staff-nav")).to_contain_text("Alice Berger")
    assert AuditEntry.objects.filter(
        action="videotermin.signin.account_linked", actor=counselor
    ).exists()


def test_a_user_of_another_agencys_provider_is_refused(
    new_context, server, agency, counselor, other_agency
):
    counselor.email = "alice.berger@musterstadt.example"
    counselor.save()
    accounts = {"alice": {"email": "alice.berger@musterstadt.example", "name": "Alice B."}}
    idp, provider = with_identity_provider(other_agency, server, accounts, create_accounts=True)
    with idp:
        page = new_context(locale="de-DE").new_page()
        sign_in_at_the_provider(page, other_agency, "alice", button="Anmelden mit Landesportal")
        expect(page.locator("[role=alert]")).to_contain_text("gehört zu einer anderen Behörde")
        page.goto(reverse("staff:day"))
        expect(page).to_have_url(re.compile(r"/staff/login/"))
