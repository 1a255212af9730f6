"""TURN credentials and the relay policy: what each room member's browser is told about ICE."""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.urls import reverse
from tests.personas import agree

from videotermin.asgi import websocket_urlpatterns
from videotermin.calls import ice
from videotermin.calls.state import SESSION_KEY

SECRET = "coturn-shared-secret"
TURN_URLS = ["turn:turn.agentur.example:3478?transport=udp"]


@pytest.fixture
def turn(settings):
    settings.TURN_URLS = TURN_URLS
    settings.TURN_SECRET = SECRET
    settings.TURN_TTL_SECONDS = 3600
    settings.STUN_URLS = []
    return settings


def coturn_password(secret: str, username: str) -> str:
    """What coturn computes for `use-auth-secret`, written out independently of ice.py."""
    return base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()


def test_the_password_is_the_base64_hmac_sha1_of_the_username_as_coturn_expects():
    # printf '1700003600:abc' | openssl dgst -sha1 -hmac geheim -binary | base64
    assert coturn_password("geheim", "1700003600:abc") == "YwqdHVEhkSyI4sCKFt/c/+LcLPw="

    username, password = ice.turn_credentials("p-1", secret="geheim", ttl=600, now=1_700_000_000)

    expiry, _, opaque = username.partition(":")
    assert expiry == "1700000600"
    assert opaque and ":" not in opaque
    assert password == coturn_password("geheim", username)


def test_a_room_member_gets_turn_credentials_that_expire_after_the_ttl(turn, citizen):
    turn.TURN_TTL_SECONDS = 900
    before = int(time.time())

    [server] = ice.ice_servers(str(citizen.public_id))

    assert server["urls"] == TURN_URLS
    expiry = int(server["username"].split(":")[0])
    assert before + 900 <= expiry <= int(time.time()) + 900
    assert server["credential"] == coturn_password(SECRET, server["username"])


def test_the_turn_username_holds_nothing_personal(turn, citizen, counselor):
    citizen_name = ice.ice_servers(str(citizen.public_id))[0]["username"]
    counselor_name = ice.ice_servers(ice.staff_member_id(counselor))[0]["username"]

    for secret_of_the_person in (
        str(citizen.public_id),
        citizen.public_id.hex,
        citizen.name,
        citizen.email,
        counselor.get_username(),
        ice.staff_member_id(counselor),
    ):
        assert secret_of_the_person.lower() not in citizen_name.lower()
        assert secret_of_the_person.lower() not in counselor_name.lower()
    assert citizen_name.split(":")[1] != counselor_name.split(":")[1]


def joined_as(member, server) -> str:
    """The TURN username the member would get with the same expiry: the opaque id is theirs."""
    expiry = server["username"].split(":")[0]
    return f"{expiry}:{ice.opaque_id(str(member.public_id))}"


def test_every_person_in_the_room_has_credentials_of_their_own(
    turn, interpreter_booking, counselor, colleague
):
    [(olga, _token)] = interpreter_booking.extras
    people = [
        str(interpreter_booking.citizen.public_id),
        str(olga.public_id),
        ice.staff_member_id(counselor),
        ice.staff_member_id(colleague),
    ]
    opaque = {ice.ice_servers(person)[0]["username"].split(":")[1] for person in people}
    assert len(opaque) == len(people)
    for name in (olga.name, olga.email, "Olga", "Kowalenko"):
        assert all(name.lower() not in o for o in opaque)


def test_stun_servers_come_first_and_without_credentials(turn):
    turn.STUN_URLS = ["stun:turn.agentur.example:3478"]

    stun, turn_server = ice.ice_servers("someone")

    assert stun == {"urls": ["stun:turn.agentur.example:3478"]}
    assert turn_server["urls"] == TURN_URLS


def test_without_turn_the_browsers_get_no_ice_servers(settings):
    settings.TURN_URLS = []
    settings.STUN_URLS = []
    assert ice.ice_servers("someone") == []


def test_only_an_agency_that_hides_ip_addresses_relays_everything(agency, other_agency):
    agency.relay_only = True
    agency.save()

    assert ice.ice_policy(agency) == "relay"
    assert ice.ice_policy(other_agency) == "all"


def test_turn_urls_without_a_secret_refuse_to_start(tmp_path):
    env = {
        **os.environ,
        "VIDEOTERMIN_VAR": str(tmp_path),
        "TURN_URLS": "turn:turn.agentur.example:3478",
        "TURN_SECRET": "",
    }
    env.pop("TURN_SECRET_FILE", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "videotermin.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "TURN_SECRET" in result.stderr


def test_the_citizens_room_page_carries_her_credentials_and_the_relay_policy(
    client, turn, agency, booking, consenting_citizen
):
    agency.relay_only = True
    agency.save()
    client.get(f"/j/{booking.token}/")

    response = client.get(reverse("journey:room", args=[consenting_citizen.public_id]))

    assert response.status_code == 200
    [server] = json.loads(response.context["ice_servers_json"])
    assert server["credential"] == coturn_password(SECRET, server["username"])
    assert response.context["ice_policy"] == "relay"
    assert 'data-ice-policy="relay"' in response.content.decode()


def test_the_interpreters_room_page_carries_her_own_credentials(client, turn, interpreter_booking):
    [(olga, token)] = interpreter_booking.extras
    agree(olga)
    client.get(f"/j/{token}/")

    response = client.get(reverse("journey:room", args=[olga.public_id]))

    assert response.status_code == 200
    [server] = json.loads(response.context["ice_servers_json"])
    assert server["username"] == joined_as(olga, server)
    assert server["username"] != joined_as(interpreter_booking.citizen, server)


def test_the_counselors_room_page_allows_direct_connections_unless_the_agency_relays(
    client, turn, counselor, appointment
):
    client.force_login(counselor)

    response = client.get(reverse("staff:room", args=[appointment.public_id]))

    assert response.status_code == 200
    [server] = json.loads(response.context["ice_servers_json"])
    assert server["urls"] == TURN_URLS
    assert 'data-ice-policy="all"' in response.content.decode()


def test_alice_is_told_when_her_agency_relays_everything_but_has_no_turn_server(
    client, settings, agency, counselor, appointment
):
    settings.TURN_URLS = []
    agency.relay_only = True
    agency.save()
    client.force_login(counselor)

    page = client.get(
        reverse("staff:room", args=[appointment.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    )

    # The policy stays relay: falling back would reveal the addresses the agency hides.
    assert 'data-ice-policy="relay"' in page.content.decode()
    assert "none is configured" in page.content.decode()


def test_alice_sees_no_relay_warning_when_the_turn_server_is_configured(
    client, turn, agency, counselor, appointment
):
    agency.relay_only = True
    agency.save()
    client.force_login(counselor)

    page = client.get(
        reverse("staff:room", args=[appointment.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert "none is configured" not in page.content.decode()


def test_relay_only_cannot_be_chosen_without_a_turn_server(settings, agency):
    settings.TURN_URLS = []
    agency.relay_only = True
    with pytest.raises(ValidationError) as refused:
        agency.full_clean()
    assert "relay_only" in refused.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_every_joined_brings_fresh_ice_servers_and_the_policy(turn, agency, consenting_citizen):
    agency.relay_only = True
    agency.save()
    appointment = consenting_citizen.appointment
    link = consenting_citizen.links.get().pk

    async def scenario():
        communicator = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), f"/ws/room/{appointment.public_id}/"
        )
        communicator.scope["user"] = AnonymousUser()
        communicator.scope["session"] = {SESSION_KEY: {str(consenting_citizen.public_id): link}}
        connected, _ = await communicator.connect(2)
        assert connected
        joined = await communicator.receive_json_from(2)
        await communicator.disconnect()
        return joined

    before = int(time.time())
    joined = async_to_sync(scenario)()

    assert joined["type"] == "joined"
    assert joined["ice"]["policy"] == "relay"
    [server] = joined["ice"]["servers"]
    assert int(server["username"].split(":")[0]) >= before + 3600
    assert server["credential"] == coturn_password(SECRET, server["username"])
    assert server["username"] == joined_as(consenting_citizen, server)
    assert joined["ice"]["ttl"] == 3600


@pytest.mark.django_db(transaction=True)
def test_a_page_that_asks_in_time_gets_credentials_valid_from_now(
    turn, settings, consenting_citizen
):
    settings.TURN_TTL_SECONDS = 600
    appointment = consenting_citizen.appointment
    link = consenting_citizen.links.get().pk

    async def scenario():
        communicator = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), f"/ws/room/{appointment.public_id}/"
        )
        communicator.scope["user"] = AnonymousUser()
        communicator.scope["session"] = {SESSION_KEY: {str(consenting_citizen.public_id): link}}
        await communicator.connect(2)
        joined = await communicator.receive_json_from(2)
        assert joined["type"] == "joined"
        await asyncio.sleep(1.1)  # the expiry counts in whole seconds
        await communicator.send_json_to({"v": 2, "type": "ice_refresh"})
        answer = await communicator.receive_json_from(2)
        while answer["type"] != "ice":  # room updates may come in between
            answer = await communicator.receive_json_from(2)
        await communicator.disconnect()
        return joined, answer

    joined, answer = async_to_sync(scenario)()

    assert answer["ice"]["policy"] == "all" and answer["ice"]["ttl"] == 600
    [old], [new] = joined["ice"]["servers"], answer["ice"]["servers"]
    assert int(new["username"].split(":")[0]) > int(old["username"].split(":")[0])
    assert new["credential"] == coturn_password(SECRET, new["username"])


def test_without_turn_the_page_has_nothing_to_refresh(settings, agency):
    settings.TURN_URLS = []
    assert ice.ice_config(agency, "someone")["ttl"] is None
