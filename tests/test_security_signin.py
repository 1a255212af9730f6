"""Staff sign-in: failures count per account wherever they come from, and per address over all
accounts; no header the client sends changes either count."""

from django.test import Client
from django.urls import reverse
from tests.personas import PASSWORD

LOGIN = "staff:login"


def sign_in(client: Client, password: str, username: str = "alice", **headers):
    return client.post(reverse(LOGIN), {"username": username, "password": password}, **headers)


def test_guessing_from_ever_new_addresses_still_locks_the_account(counselor, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"), "wrong")
    response = sign_in(Client(REMOTE_ADDR="198.51.100.200"), PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in Client().session


def test_a_forged_forwarded_address_is_no_new_address(counselor, settings):
    client = Client(REMOTE_ADDR="127.0.0.1")
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}")
    assert sign_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_an_address_that_fails_on_many_accounts_is_held_off(counselor, colleague, settings):
    settings.LOGIN_ADDRESS_LIMIT = "3/15 minutes"
    sprayer = Client(REMOTE_ADDR="203.0.113.7")
    for username in ("carla", "dieter", "erika"):
        assert sign_in(sprayer, "Sommer2026!", username=username).status_code == 200
    # Even the right password of an account nobody has failed on waits now, from this address.
    assert sign_in(sprayer, PASSWORD, username="bob").status_code == 429
    # Colleagues elsewhere are not affected.
    assert sign_in(Client(REMOTE_ADDR="192.0.2.10"), PASSWORD, username="bob").status_code == 302


def test_a_counselor_who_signs_in_is_not_held_off_by_a_typo_before(counselor):
    client = Client(REMOTE_ADDR="192.0.2.10")
    assert sign_in(client, "wrong").status_code == 200
    assert sign_in(client, PASSWORD).status_code == 302
