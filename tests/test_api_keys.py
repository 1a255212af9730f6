"""API keys: made, rotated and revoked by the agency's administrator or an operator, shown
once, kept only as a hash, limited per key, and named in the audit log."""

import hashlib
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.apiclient import ApiCaller, booking_body
from tests.personas import make_staff

from videotermin.agencies.models import Location, StaffMember
from videotermin.api import services
from videotermin.api.models import ApiKey
from videotermin.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

KEY = re.compile(r"vtk_[0-9a-f]{16}_[A-Za-z0-9_-]{32}")


def works(client: Client, value: str) -> bool:
    response = ApiCaller(client, value).get("/locations")
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


def test_a_key_is_shown_once_and_only_the_hash_of_its_secret_is_stored(agency):
    issued = services.create_key(agency, by=None, name="Terminsystem", scope="write")

    assert KEY.fullmatch(issued.value)
    assert issued.value not in repr(issued)
    secret = issued.value.split("_", 2)[2]
    stored = ApiKey.objects.get()
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert issued.value.startswith(f"vtk_{stored.public_id}_")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic dGVzdDp0ZXN0",
        "Bearer",
        "Bearer nonsense",
        "Bearer vtk_0123456789abcdef_" + "x" * 32,
        "WRONG_SECRET",
        "Bearer " + "vtk_" + "a" * 2000,
    ],
    ids=["none", "basic", "empty", "garbage", "unknown-key", "wrong-secret", "huge"],
)
def test_a_call_without_a_working_key_gets_401(client, api_key, authorization):
    if authorization == "WRONG_SECRET":
        authorization = "Bearer " + api_key.value[:-4] + "abcd"
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/api/v1/locations", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="videotermin"'
    assert json.loads(response.content)["type"] == "/api/v1/problems/unauthorized"


def test_a_revoked_key_works_no_more(client, api_key):
    assert works(client, api_key.value)

    services.revoke_key(api_key.key, by=None)

    assert not works(client, api_key.value)


def test_a_rotated_key_works_with_its_new_secret_and_the_previous_one_until_the_overlap_ends(
    client, api_key
):
    rotated = services.rotate_key(api_key.key, by=None, overlap_hours=24)

    assert rotated.value != api_key.value
    assert works(client, rotated.value)
    assert works(client, api_key.value)
    ApiKey.objects.update(previous_valid_until=timezone.now() - timedelta(seconds=1))
    assert not works(client, api_key.value)
    assert works(client, rotated.value)


def test_a_key_rotated_at_once_works_only_with_its_new_secret(client, api_key):
    rotated = services.rotate_key(api_key.key, by=None, overlap_hours=0)

    assert not works(client, api_key.value)
    assert works(client, rotated.value)


def test_rotating_keeps_the_keys_name_scope_and_pseudonym_and_revoking_ends_every_secret(
    client, api_key
):
    rotated = services.rotate_key(api_key.key, by=None)
    key = ApiKey.objects.get()

    assert (key.name, key.scope, key.audit_ref) == (
        "Terminsystem",
        "write",
        api_key.key.audit_ref,
    )
    assert rotated.value.startswith(f"vtk_{key.public_id}_")
    services.revoke_key(key, by=None)
    assert not works(client, rotated.value)
    assert not works(client, api_key.value)
    with pytest.raises(services.NotAllowed):
        services.rotate_key(key, by=None)


def test_an_overlap_longer_than_a_week_is_refused(api_key):
    with pytest.raises(services.NotAllowed):
        services.rotate_key(api_key.key, by=None, overlap_hours=24 * 8)


def test_the_last_use_is_recorded_at_most_once_a_minute(client, api_key):
    assert ApiKey.objects.get().last_used_at is None

    works(client, api_key.value)
    first = ApiKey.objects.get().last_used_at
    works(client, api_key.value)

    assert first is not None
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    works(client, api_key.value)
    assert ApiKey.objects.get().last_used_at > first


def test_two_working_keys_of_an_agency_never_share_a_name(agency):
    first = services.create_key(agency, by=None, name="Terminsystem", scope="write")

    with pytest.raises(services.NotAllowed):
        services.create_key(agency, by=None, name="Terminsystem", scope="read")
    services.revoke_key(first.key, by=None)
    services.create_key(agency, by=None, name="Terminsystem", scope="read")


def test_only_the_agencys_administrators_manage_its_keys(agency, counselor, outsider):
    with pytest.raises(services.NotAllowed):
        services.create_key(agency, by=counselor, name="Eigenes", scope="write")
    StaffMember.objects.filter(user=outsider).update(role=StaffMember.Role.ADMIN)
    outsider.refresh_from_db()
    with pytest.raises(services.NotAllowed):
        services.create_key(agency, by=outsider, name="Fremd", scope="write")


def test_every_change_of_a_key_is_audited(agency, admin_user):
    issued = services.create_key(agency, by=admin_user, name="Terminsystem", scope="write")
    services.rotate_key(issued.key, by=admin_user, overlap_hours=1)
    services.revoke_key(issued.key, by=admin_user)

    entries = AuditEntry.objects.filter(action__startswith="videotermin.api.key_").order_by("at")
    assert [e.action.rsplit(".", 1)[1] for e in entries] == [
        "key_created",
        "key_rotated",
        "key_revoked",
    ]
    assert {e.actor for e in entries} == {admin_user}
    assert all(e.data["key"] == issued.key.audit_ref for e in entries)
    assert issued.value.split("_", 2)[2] not in json.dumps([e.data for e in entries])


# In the workspace ------------------------------------------------------------------------------


def test_the_administrator_creates_a_key_and_sees_it_this_once(admin_client, client):
    assert reverse("api_keys:index") in admin_client.get(reverse("administration:settings")).text
    form = admin_client.get(reverse("api_keys:create"))
    assert form.status_code == 200

    shown = admin_client.post(
        reverse("api_keys:create"), {"name": "Terminsystem", "scope": "write"}
    )

    assert shown.status_code == 200
    [value] = KEY.findall(shown.text)
    assert "no-store" in shown["Cache-Control"]
    listing = admin_client.get(reverse("api_keys:index")).text
    assert "Terminsystem" in listing
    assert value not in listing
    assert works(Client(), value)


def test_the_administrator_rotates_a_key_and_then_revokes_it(admin_client, api_key):
    key = api_key.key
    page = admin_client.get(reverse("api_keys:rotate", args=[key.public_id]))
    assert page.status_code == 200

    shown = admin_client.post(
        reverse("api_keys:rotate", args=[key.public_id]), {"overlap_hours": 0}
    )
    [value] = KEY.findall(shown.text)
    confirm = admin_client.get(reverse("api_keys:revoke", args=[key.public_id]))
    revoked = admin_client.post(reverse("api_keys:revoke", args=[key.public_id]))

    assert value != api_key.value
    assert confirm.status_code == 200
    assert revoked.status_code == 302
    assert not works(Client(), value)
    assert not works(Client(), api_key.value)
    assert ApiKey.objects.get().revoked_at is not None


def test_a_name_taken_by_a_working_key_is_refused_on_the_form(admin_client, api_key):
    response = admin_client.post(
        reverse("api_keys:create"), {"name": "Terminsystem", "scope": "read"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert ApiKey.objects.count() == 1


def test_a_counselor_may_not_open_the_key_pages_and_another_agencys_administrator_finds_none(
    client, counselor, api_key, other_agency
):
    key = api_key.key.public_id
    pages = [
        reverse("api_keys:index"),
        reverse("api_keys:create"),
        reverse("api_keys:rotate", args=[key]),
        reverse("api_keys:revoke", args=[key]),
    ]
    client.force_login(counselor)
    for url in pages:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x", "scope": "read"}).status_code == 403, url
    stranger = make_staff(
        other_agency, Location.objects.create(agency=other_agency, name="Anderswo"), "cyd", "C D"
    )
    StaffMember.objects.filter(user=stranger).update(role=StaffMember.Role.ADMIN)
    client.force_login(stranger)
    for url in pages[2:]:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"overlap_hours": 0}).status_code == 404, url
    assert "Terminsystem" not in client.get(pages[0]).text
    assert ApiKey.objects.get().revoked_at is None


def test_the_audit_log_names_the_key_as_the_actor_of_its_calls(
    admin_client, api, api_key, location, counselor
):
    starts = timezone.now() + timedelta(days=1)
    with_key = api.post("/appointments", booking_body(location, counselor, starts))
    assert with_key.status_code == 201
    services.revoke_key(api_key.key, by=None)

    page = admin_client.get(reverse("administration:audit"), {"action": "appointment.created"})

    row = re.search(r'<tr data-action="appointment.created">.*?</tr>', page.text, re.S).group(0)
    assert "API-Schlüssel „Terminsystem“" in row or "API key “Terminsystem”" in row


# For operators ---------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("apikey", *args, stdout=out)
    return out.getvalue()


def test_operators_create_list_rotate_and_revoke_keys_with_the_apikey_command(client, agency):
    created = run("create", "musterstadt", "Terminsystem", "--scope", "read")
    [value] = KEY.findall(created)
    key = ApiKey.objects.get()
    assert (key.name, key.scope) == ("Terminsystem", "read")
    assert works(client, value)

    listed = run("list", "musterstadt")
    assert key.public_id in listed and "Terminsystem" in listed and "working" in listed
    assert value not in listed

    rotated = run("rotate", value, "--overlap-hours", "0")
    [new_value] = KEY.findall(rotated)
    assert not works(client, value)
    assert works(client, new_value)

    run("revoke", key.public_id)
    assert not works(client, new_value)
    assert "revoked" in run("list", "musterstadt")
    assert AuditEntry.objects.filter(action__startswith="videotermin.api.key_").count() == 3


def test_the_apikey_command_names_what_it_cannot_find(agency):
    with pytest.raises(CommandError):
        run("create", "nowhere", "Terminsystem")
    with pytest.raises(CommandError):
        run("revoke", "0123456789abcdef")


# Rate limits -----------------------------------------------------------------------------------


def test_a_key_over_its_rate_limit_gets_429_with_retry_after_and_other_keys_go_on(
    api, other_api, settings
):
    settings.API_RATE_LIMIT = "3/minute"
    for _call in range(3):
        assert api.get("/locations").status_code == 200

    refused = api.get("/locations", language="de")

    assert refused.status_code == 429
    body = json.loads(refused.content)
    assert body["type"] == "/api/v1/problems/rate-limited"
    assert body["title"] == "Zu viele Anfragen"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert other_api.get("/locations").status_code == 200
