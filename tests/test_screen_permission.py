"""Who may allow screen sharing, and how the permission and the share reach the room state."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from tests.test_room_consumer import TIMEOUT, enter, next_of, socket

from videotermin.appointments.models import Participant
from videotermin.appointments.services import NotAllowed
from videotermin.audit.models import AuditEntry
from videotermin.calls import services

pytestmark = pytest.mark.django_db(transaction=True)


def run(scenario):
    async_to_sync(scenario)()


async def next_room(communicator: WebsocketCommunicator, condition) -> dict:
    """The next room state that fulfils the condition; other messages are skipped."""
    while True:
        room = await next_of(communicator, "room")
        if condition(room):
            return room


def dana(room: dict) -> dict:
    return room["participants"][0]


def allow(citizen, allowed: bool = True) -> dict:
    return {"v": 1, "type": "screen", "participant": str(citizen.public_id), "allowed": allowed}


def flags(citizen) -> tuple[bool, bool]:
    row = Participant.objects.get(pk=citizen.pk)
    return row.may_share_screen, row.screen_on


def test_the_counselors_permission_reaches_the_citizens_room_state(
    consenting_citizen, appointment, counselor
):
    async def scenario():
        citizen = socket(appointment, participants=[consenting_citizen])
        await enter(citizen)
        staff = socket(appointment, user=counselor)
        await enter(staff)
        await staff.send_json_to(allow(consenting_citizen))
        room = await next_room(citizen, lambda room: dana(room)["mayShareScreen"])
        assert dana(room)["screen"] is False
        await staff.disconnect(timeout=TIMEOUT)
        await citizen.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert flags(consenting_citizen) == (True, False)
    assert AuditEntry.objects.filter(
        action="videotermin.participant.screen_sharing_allowed", actor=counselor
    ).exists()


def test_a_citizen_cannot_allow_screen_sharing(consenting_citizen, appointment):
    async def scenario():
        communicator = socket(appointment, participants=[consenting_citizen])
        await enter(communicator)
        await communicator.send_json_to(allow(consenting_citizen))
        error = await next_of(communicator, "error")
        assert (error["code"], error["ref"]) == ("not_allowed", "screen")
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert flags(consenting_citizen) == (False, False)


def test_a_counselor_of_another_agency_cannot_allow_screen_sharing(
    consenting_citizen, appointment, outsider
):
    async def scenario():
        communicator = socket(appointment, user=outsider)
        connected, code = await communicator.connect(TIMEOUT)
        assert (connected, code) == (False, 4403)

    run(scenario)
    with pytest.raises(NotAllowed):
        services.allow_screen_sharing(consenting_citizen, True, by=outsider)
    assert flags(consenting_citizen) == (False, False)


def test_a_citizen_cannot_report_a_share_before_she_is_allowed(consenting_citizen, appointment):
    async def scenario():
        communicator = socket(appointment, participants=[consenting_citizen])
        await enter(communicator)
        await communicator.send_json_to({"v": 1, "type": "status", "screen": True})
        error = await next_of(communicator, "error")
        assert (error["code"], error["ref"]) == ("not_allowed", "status")
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert flags(consenting_citizen) == (False, False)


def test_revoking_the_permission_ends_the_citizens_share_in_the_room_state(
    consenting_citizen, appointment, counselor
):
    async def scenario():
        citizen = socket(appointment, participants=[consenting_citizen])
        await enter(citizen)
        staff = socket(appointment, user=counselor)
        await enter(staff)
        await staff.send_json_to(allow(consenting_citizen))
        await next_room(citizen, lambda room: dana(room)["mayShareScreen"])
        await citizen.send_json_to({"v": 1, "type": "status", "screen": True})
        await next_room(staff, lambda room: dana(room)["screen"])

        await staff.send_json_to(allow(consenting_citizen, False))

        room = await next_room(citizen, lambda room: not dana(room)["mayShareScreen"])
        assert dana(room)["screen"] is False
        await staff.disconnect(timeout=TIMEOUT)
        await citizen.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert flags(consenting_citizen) == (False, False)
    assert AuditEntry.objects.filter(
        action="videotermin.participant.screen_sharing_revoked", actor=counselor
    ).exists()


def test_the_counselors_share_reaches_the_room_and_ends_with_a_new_page(
    consenting_citizen, appointment, counselor
):
    async def scenario():
        citizen = socket(appointment, participants=[consenting_citizen])
        await enter(citizen)
        staff = socket(appointment, user=counselor)
        await enter(staff)
        await staff.send_json_to({"v": 1, "type": "status", "screen": True})
        await next_room(citizen, lambda room: room["counselor"]["screen"])

        await staff.disconnect(timeout=TIMEOUT)
        reloaded = socket(appointment, user=counselor)
        await enter(reloaded)

        await next_room(
            citizen, lambda room: room["counselor"]["session"] and not room["counselor"]["screen"]
        )
        await reloaded.disconnect(timeout=TIMEOUT)
        await citizen.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_screen_permission_must_say_yes_or_no(consenting_citizen, appointment, counselor):
    async def scenario():
        staff = socket(appointment, user=counselor)
        await enter(staff)
        await staff.send_json_to({**allow(consenting_citizen), "allowed": "yes"})
        error = await next_of(staff, "error")
        assert (error["code"], error["ref"]) == ("invalid", "screen")
        await staff.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert flags(consenting_citizen) == (False, False)
