"""The room's WebSocket: who gets in, what bad messages get back, and what a citizen may do."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from videotermin.appointments.models import Participant
from videotermin.asgi import websocket_urlpatterns
from videotermin.calls.state import SESSION_KEY

pytestmark = pytest.mark.django_db(transaction=True)

application = URLRouter(websocket_urlpatterns)


# The consumer reads the database in a thread of its own; on a busy machine that takes a moment.
TIMEOUT = 2


def socket(appointment, *, user=None, participants=()) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/room/{appointment.public_id}/")
    communicator.scope["user"] = user or AnonymousUser()
    communicator.scope["session"] = {SESSION_KEY: [str(p.public_id) for p in participants]}
    return communicator


async def enter(communicator) -> dict:
    """Connect and return the welcome; the first room state is read too."""
    connected, code = await communicator.connect(TIMEOUT)
    assert connected, code
    welcome = await communicator.receive_json_from(TIMEOUT)
    assert welcome["type"] == "welcome"
    assert (await communicator.receive_json_from(TIMEOUT))["type"] == "room"
    return welcome


async def next_of(communicator, kind: str, timeout: float = TIMEOUT) -> dict:
    """The next message of this type; room updates in between are skipped."""
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


def run(scenario):
    async_to_sync(scenario)()


def as_row(participant) -> tuple:
    p = Participant.objects.get(pk=participant.pk)
    return p.presence, p.admitted_at, p.camera_on, p.microphone_on, p.check_result


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "invalid"),
        (json.dumps({"v": 1, "type": "status", "camera": True, "pad": "x" * 70_000}), "too_large"),
        (json.dumps({"v": 1, "type": "dance"}), "unknown_type"),
        (json.dumps({"v": 2, "type": "status", "camera": True}), "unsupported_version"),
        (json.dumps({"v": 1, "type": "status", "camera": "yes"}), "invalid"),
    ],
)
def test_a_bad_message_gets_an_error_reply_and_changes_nothing(
    consenting_citizen, appointment, text, code
):
    async def scenario():
        communicator = socket(appointment, participants=[consenting_citizen])
        await enter(communicator)
        before = await database_row()
        await communicator.send_to(text_data=text)
        error = await next_of(communicator, "error")
        assert error["code"] == code
        assert error["message"]
        assert await database_row() == before
        await communicator.disconnect(timeout=TIMEOUT)

    database_row = database_sync_to_async(lambda: as_row(consenting_citizen))
    run(scenario)


def test_a_citizen_cannot_admit(consenting_citizen, appointment):
    async def scenario():
        communicator = socket(appointment, participants=[consenting_citizen])
        await enter(communicator)
        await communicator.send_json_to(
            {"v": 1, "type": "admit", "participant": str(consenting_citizen.public_id)}
        )
        error = await next_of(communicator, "error")
        assert (error["code"], error["ref"]) == ("not_allowed", "admit")
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert Participant.objects.get(pk=consenting_citizen.pk).admitted_at is None


def test_a_citizen_cannot_signal_before_admission(consenting_citizen, appointment, counselor):
    async def scenario():
        staff = socket(appointment, user=counselor)
        counselor_session = (await enter(staff))["session"]
        citizen = socket(appointment, participants=[consenting_citizen])
        await enter(citizen)
        await citizen.send_json_to(
            {
                "v": 1,
                "type": "signal",
                "to": counselor_session,
                "description": {"type": "offer", "sdp": "v=0"},
            }
        )
        error = await next_of(citizen, "error")
        assert (error["code"], error["ref"]) == ("not_allowed", "signal")
        while not await staff.receive_nothing(timeout=0.2):
            assert (await staff.receive_json_from(TIMEOUT))["type"] != "signal"
        await citizen.disconnect(timeout=TIMEOUT)
        await staff.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_session_that_did_not_open_the_link_is_refused(consenting_citizen, appointment):
    async def scenario():
        communicator = socket(appointment)
        connected, code = await communicator.connect(TIMEOUT)
        assert (connected, code) == (False, 4403)

    run(scenario)


def test_a_counselor_of_another_agency_is_refused(appointment, outsider):
    async def scenario():
        communicator = socket(appointment, user=outsider)
        connected, code = await communicator.connect(TIMEOUT)
        assert (connected, code) == (False, 4403)

    run(scenario)


def test_admission_reaches_the_citizen_and_signals_then_pass(
    consenting_citizen, appointment, counselor
):
    async def scenario():
        staff = socket(appointment, user=counselor)
        counselor_session = (await enter(staff))["session"]
        citizen = socket(appointment, participants=[consenting_citizen])
        citizen_session = (await enter(citizen))["session"]

        await staff.send_json_to(
            {"v": 1, "type": "admit", "participant": str(consenting_citizen.public_id)}
        )
        assert (await next_of(citizen, "admitted"))["v"] == 1
        room = await next_of(staff, "room")
        while room["participants"][0]["session"] is None:
            room = await next_of(staff, "room")
        assert room["participants"][0]["session"] == citizen_session

        await staff.send_json_to(
            {
                "v": 1,
                "type": "signal",
                "to": citizen_session,
                "description": {"type": "offer", "sdp": "v=0"},
            }
        )
        signal = await next_of(citizen, "signal")
        assert signal["from"] == counselor_session
        assert signal["description"] == {"type": "offer", "sdp": "v=0"}
        await citizen.send_json_to(
            {
                "v": 1,
                "type": "signal",
                "to": counselor_session,
                "candidate": {"candidate": "", "sdpMid": "0"},
            }
        )
        assert (await next_of(staff, "signal"))["candidate"]["sdpMid"] == "0"
        await citizen.disconnect(timeout=TIMEOUT)
        await staff.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert Participant.objects.get(pk=consenting_citizen.pk).admitted_at is not None


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (None, "Sie sind noch nicht im Gespräch."),  # her appointment is in German
        ("en", "You are not in the call yet."),  # she switched to English
    ],
)
def test_the_citizens_errors_speak_the_language_of_her_pages(
    consenting_citizen, appointment, chosen, expected
):
    async def scenario():
        communicator = socket(appointment, participants=[consenting_citizen])
        communicator.scope["headers"] = [(b"accept-language", b"fr-FR,en;q=0.5")]
        if chosen:
            communicator.scope["cookies"] = {"videotermin_language": chosen}
        await enter(communicator)
        await communicator.send_json_to(
            {"v": 1, "type": "signal", "to": "0123456789abcdef", "candidate": {"candidate": ""}}
        )
        assert (await next_of(communicator, "error"))["message"] == expected
        await communicator.disconnect()

    run(scenario)


def test_the_counselors_errors_speak_the_language_of_her_browser(counselor, appointment):
    """A German appointment does not make an English-speaking counselor's errors German."""

    async def scenario():
        communicator = socket(appointment, user=counselor)
        communicator.scope["headers"] = [(b"accept-language", b"en-GB,en;q=0.9")]
        await enter(communicator)
        await communicator.send_to(text_data="{not json")
        error = await next_of(communicator, "error")
        assert error["message"] == "The message could not be understood."
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("origin", "admitted"),
    [(b"http://localhost", True), (b"https://evil.example", False)],
)
def test_a_page_of_another_site_cannot_open_the_room_socket(
    appointment, counselor, origin, admitted
):
    """The WebSocket checks the Origin against ALLOWED_HOSTS before anything else runs."""
    from videotermin.asgi import application as full_application

    async def scenario():
        communicator = WebsocketCommunicator(
            full_application,
            f"/ws/room/{appointment.public_id}/",
            headers=[(b"origin", origin), (b"host", b"localhost")],
        )
        # Even a signed-in counselor's browser is refused when the page is not ours.
        communicator.scope["user"] = counselor
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected is admitted
        await communicator.disconnect()

    run(scenario)
