"""Staff sign-in with a second factor (S1, N10): authenticator apps and recovery codes through
allauth.mfa, every change audited; an agency's policy that holds whoever has no second factor
set up, pages and sockets alike."""

import pytest
from allauth.mfa.models import Authenticator
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from tests.personas import PASSWORD
from tests.signin_helpers import totp_code

from videotermin.asgi import application
from videotermin.audit.models import AuditEntry
from videotermin.signin.services import has_second_factor

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str = "alice", password: str = PASSWORD):
    return client.post(reverse("staff:login"), {"username": username, "password": password})


def confirm_password(client: Client, response):
    """allauth asks for the password again before a second factor changes."""
    assert response.status_code == 302 and reverse("account_reauthenticate") in response.url
    return client.post(response.url, {"password": PASSWORD})


def set_up_authenticator_app(client: Client) -> str:
    """Alice activates an authenticator app; returns its secret."""
    url = reverse("mfa_activate_totp")
    response = client.get(url)
    if response.status_code == 302:
        confirm_password(client, response)
        response = client.get(url)
    assert response.status_code == 200
    secret = response.context["form"].secret
    response = client.post(url, {"code": totp_code(secret)})
    assert response.status_code == 302, response.context["form"].errors
    return secret


@pytest.fixture
def alice(client, counselor):
    """Alice, signed in with her password."""
    assert sign_in(client).status_code == 302
    return client


@pytest.fixture
def strict_agency(agency):
    agency.require_second_factor = True
    agency.save()
    return agency


def test_a_counselor_sets_up_an_authenticator_app_and_then_needs_its_code(alice, counselor):
    secret = set_up_authenticator_app(alice)
    assert has_second_factor(counselor)
    # allauth made recovery codes for the day the phone is lost.
    assert Authenticator.objects.filter(
        user=counselor, type=Authenticator.Type.RECOVERY_CODES
    ).exists()
    alice.post(reverse("staff:logout"))

    response = sign_in(alice)
    assert response.url == reverse("mfa_authenticate")
    assert alice.get(reverse("staff:day")).status_code == 302  # not signed in yet
    wrong = str((int(totp_code(secret)) + 1) % 1_000_000).zfill(6)
    assert alice.post(reverse("mfa_authenticate"), {"code": wrong}).status_code == 200
    response = alice.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert alice.get(reverse("staff:day")).status_code == 200


def unused_recovery_codes(user) -> list[str]:
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return codes.wrap().get_unused_codes()


def test_a_recovery_code_stands_in_for_the_lost_phone(alice, counselor):
    set_up_authenticator_app(alice)
    code = unused_recovery_codes(counselor)[0]
    alice.post(reverse("staff:logout"))
    sign_in(alice)
    alice.post(reverse("mfa_authenticate"), {"code": code})
    assert alice.get(reverse("staff:day")).status_code == 200
    # Used once, never again.
    assert code not in unused_recovery_codes(counselor)


def test_guessing_codes_is_held_off(alice, counselor, settings):
    set_up_authenticator_app(alice)
    alice.post(reverse("staff:logout"))
    sign_in(alice)
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        alice.post(reverse("mfa_authenticate"), {"code": "000000"})
    secret = Authenticator.objects.get(user=counselor, type=Authenticator.Type.TOTP).wrap()
    response = alice.post(
        reverse("mfa_authenticate"), {"code": totp_code(secret.instance.data["secret"])}
    )
    # Even the right code waits now.
    assert response.status_code == 200
    assert alice.get(reverse("staff:day")).status_code == 302


def test_adding_and_removing_a_second_factor_is_audited_without_its_secret(
    alice, counselor, django_capture_on_commit_callbacks
):
    # allauth sends its signals once the change is committed.
    with django_capture_on_commit_callbacks(execute=True):
        secret = set_up_authenticator_app(alice)
        response = alice.post(reverse("mfa_deactivate_totp"))
        if response.status_code == 302 and reverse("account_reauthenticate") in response.url:
            confirm_password(alice, response)
            response = alice.post(reverse("mfa_deactivate_totp"))
    assert not has_second_factor(counselor)
    actions = list(
        AuditEntry.objects.filter(action__startswith="videotermin.signin.second_factor")
        .order_by("at", "pk")
        .values_list("action", "data")
    )
    assert ("videotermin.signin.second_factor_added", {"type": "totp"}) in actions
    assert ("videotermin.signin.second_factor_removed", {"type": "totp"}) in actions
    entries = AuditEntry.objects.filter(actor=counselor)
    assert entries.exists()
    assert all(secret not in str(entry.data) for entry in entries)
    assert all(entry.agency_id == counselor.staff.agency_id for entry in entries)


def test_new_recovery_codes_are_audited(alice, counselor, django_capture_on_commit_callbacks):
    set_up_authenticator_app(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("mfa_generate_recovery_codes"))
    assert response.status_code == 302
    assert AuditEntry.objects.filter(
        action="videotermin.signin.second_factor_reset", data={"type": "recovery_codes"}
    ).exists()


def test_under_the_policy_a_counselor_without_a_second_factor_is_led_to_set_one_up(
    alice, strict_agency, appointment
):
    for page in (
        reverse("staff:day"),
        reverse("staff:create"),
        reverse("staff:room", args=[appointment.public_id]),
        reverse("staff:check"),
    ):
        response = alice.get(page)
        assert response.status_code == 302, page
        assert response.url == reverse("mfa_index"), page
    page = alice.get(reverse("mfa_index"))
    assert page.status_code == 200
    assert "Ihre Behörde verlangt einen zweiten Faktor" in page.text

    set_up_authenticator_app(alice)
    assert alice.get(reverse("staff:day")).status_code == 200


def test_under_the_policy_the_last_second_factor_cannot_be_removed(alice, counselor, strict_agency):
    set_up_authenticator_app(alice)
    response = alice.post(reverse("mfa_deactivate_totp"))
    if response.status_code == 302 and reverse("account_reauthenticate") in response.url:
        confirm_password(alice, response)
        response = alice.post(reverse("mfa_deactivate_totp"))
    assert has_second_factor(counselor)
    assert alice.get(reverse("staff:day")).status_code == 200


def test_the_policy_holds_only_its_own_agencys_staff(client, outsider, strict_agency):
    assert sign_in(client, "charlie").status_code == 302
    assert client.get(reverse("staff:day")).status_code == 200


async def _socket(client: Client, path: str):
    name = django_settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"
    communicator = WebsocketCommunicator(
        application,
        path,
        headers=[(b"cookie", cookie.encode()), (b"origin", django_settings.SITE_URL.encode())],
    )
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
def test_under_the_policy_the_workspace_socket_stays_closed(client, counselor, strict_agency):
    from asgiref.sync import async_to_sync

    sign_in(client)
    assert not async_to_sync(_socket)(client, "/ws/staff/")
    set_up_authenticator_app(client)
    assert async_to_sync(_socket)(client, "/ws/staff/")
