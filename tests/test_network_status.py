"""The citizen's live network sample: checked, relayed to her counselor only, never stored."""

import json

import pytest
from channels.db import database_sync_to_async
from django.forms.models import model_to_dict
from tests.test_room_consumer import TIMEOUT, enter, next_of, run, socket

from videotermin.appointments.models import Participant
from videotermin.audit.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLE = {"rttMs": 48.5, "lossPct": 1.2, "kbpsOut": 151.0, "kbpsIn": 620, "mode": "saver"}


def stored(participant) -> tuple:
    """Everything the database holds that a status could have touched."""
    row = model_to_dict(Participant.objects.get(pk=participant.pk))
    return row, AuditEntry.objects.count()


@pytest.mark.parametrize(
    "network",
    [
        {**SAMPLE, "rttMs": -1},
        {**SAMPLE, "lossPct": 101},
        {**SAMPLE, "kbpsIn": "620"},
        {**SAMPLE, "mode": "ultra"},
        {**SAMPLE, "ip": "192.0.2.1"},
        {"rttMs": 40},
        "fast",
    ],
    ids=["negative", "over-100", "string", "mode", "extra-field", "no-mode", "not-an-object"],
)
def test_a_malformed_network_sample_gets_an_error_and_reaches_nobody(
    consenting_citizen, appointment, counselor, network
):
    async def scenario():
        staff = socket(appointment, user=counselor)
        await enter(staff)
        citizen = socket(appointment, participants=[consenting_citizen])
        await enter(citizen)
        before = await database_sync_to_async(stored)(consenting_citizen)

        await citizen.send_to(text_data=json.dumps({"v": 1, "type": "status", "network": network}))

        error = await next_of(citizen, "error")
        assert (error["code"], error["ref"]) == ("invalid", "status")
        while not await staff.receive_nothing(timeout=0.3):
            assert (await staff.receive_json_from(TIMEOUT))["type"] != "network"
        assert await database_sync_to_async(stored)(consenting_citizen) == before
        await citizen.disconnect(timeout=TIMEOUT)
        await staff.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_the_counselor_receives_the_citizens_sample_and_the_citizen_does_not_hear_it_back(
    consenting_citizen, appointment, counselor
):
    async def scenario():
        staff = socket(appointment, user=counselor)
        await enter(staff)
        citizen = socket(appointment, participants=[consenting_citizen])
        citizen_session = (await enter(citizen))["session"]
        # Let the room updates of her arrival pass, so that anything later is about the sample.
        while not await citizen.receive_nothing(timeout=0.3):
            await citizen.receive_json_from(TIMEOUT)
        before = await database_sync_to_async(stored)(consenting_citizen)

        await citizen.send_json_to({"v": 1, "type": "status", "network": SAMPLE})

        relayed = await next_of(staff, "network")
        assert relayed == {
            "type": "network",
            "v": 1,
            "participant": str(consenting_citizen.public_id),
            "name": "Dana Yilmaz",
            "session": citizen_session,
            "network": {**SAMPLE, "kbpsIn": 620.0},
        }
        assert await citizen.receive_nothing(timeout=0.5), "her own sample came back to her"
        assert await database_sync_to_async(stored)(consenting_citizen) == before
        await citizen.disconnect(timeout=TIMEOUT)
        await staff.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_sample_with_the_camera_status_still_stores_the_camera_but_not_the_sample(
    consenting_citizen, appointment, counselor
):
    async def scenario():
        staff = socket(appointment, user=counselor)
        await enter(staff)
        citizen = socket(appointment, participants=[consenting_citizen])
        await enter(citizen)

        await citizen.send_json_to(
            {"v": 1, "type": "status", "camera": False, "network": {**SAMPLE, "mode": "audio"}}
        )

        assert (await next_of(staff, "network"))["network"]["mode"] == "audio"
        room = await next_of(staff, "room")
        while room["participants"][0]["camera"]:
            room = await next_of(staff, "room")
        assert "network" not in room["participants"][0]
        await citizen.disconnect(timeout=TIMEOUT)
        await staff.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert Participant.objects.get(pk=consenting_citizen.pk).camera_on is False


def test_the_counselors_own_sample_goes_nowhere(consenting_citizen, appointment, counselor):
    async def scenario():
        staff = socket(appointment, user=counselor)
        await enter(staff)
        citizen = socket(appointment, participants=[consenting_citizen])
        await enter(citizen)
        for communicator in (staff, citizen):
            while not await communicator.receive_nothing(timeout=0.3):
                await communicator.receive_json_from(TIMEOUT)

        await staff.send_json_to({"v": 1, "type": "status", "network": SAMPLE})

        assert await staff.receive_nothing(timeout=0.5)
        assert await citizen.receive_nothing(timeout=0.1)
        await citizen.disconnect(timeout=TIMEOUT)
        await staff.disconnect(timeout=TIMEOUT)

    run(scenario)
