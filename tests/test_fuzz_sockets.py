"""Generated frames thrown at every WebSocket: whatever a page sends, the socket answers, stays
open, logs no error and changes nothing it was not asked to."""

import asyncio
import json
import logging

import pytest
from django.conf import settings as django_settings
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.personas import agree
from tests.test_room_consumer import TIMEOUT, opened, socket
from tests.test_security_sockets import day_view

from videotermin.appointments.models import Member
from videotermin.calls import consumers, protocol
from videotermin.staff import consumers as staff_consumers

pytestmark = pytest.mark.django_db(transaction=True)

# One connected socket takes all examples of a test: the examples are many, connecting is slow.
FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,  # nothing written into the project's folder
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TYPES = ["ping", "status", "signal", "admit", "identity", "permissions", "remove", "handover"]
TYPES += ["leave", "end", "ice_refresh", "pong", "joined", "error", "dance", "", "PING"]
FIELDS = ["v", "type", "to", "member", "camera", "microphone", "screen", "check", "network"]
FIELDS += ["description", "candidate", "documents", "chat", "from", "session", "result"]
# Valid messages that change nothing; any other valid one is sent as a ping instead.
HARMLESS = {"ping": "pong", "ice_refresh": "ice"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and the infinities come out as the NaN and Infinity tokens
    | st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
envelopes = st.builds(
    lambda v, kind, extra: {"v": v, "type": kind, **extra},
    st.sampled_from([2, 2, 2, 1, 3, 2.0, True, "2", None, [2]]),
    st.sampled_from(TYPES) | values,
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), values, max_size=4),
)
deep = st.builds(
    lambda depth, kind: (
        "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth
    ),
    st.integers(min_value=7, max_value=5000),
    st.sampled_from(["list", "object"]),
)
huge = st.builds(
    lambda char, size: json.dumps({"v": 2, "type": "ping", "pad": char * size}),
    st.sampled_from(["x", "é", "😀", "\x00"]),
    st.integers(min_value=10_000, max_value=70_000),
)
TEMPLATES = [
    '{"v": 2, "type": "status", "network": {"rttMs": TOKEN, "mode": "high"}}',
    '{"v": 2, "type": "status", "check": {"result": "green", "details": {"a": TOKEN}}}',
    '{"v": TOKEN, "type": "ping"}',
    '{"v": 1, "type": TOKEN}',
    "[TOKEN]",
    "TOKEN",
]
tokens = st.builds(
    lambda template, token: template.replace("TOKEN", token),
    st.sampled_from(TEMPLATES),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", '"\\ud800"', '"\\u0000"']),
)
text_frames = (
    values.map(json.dumps) | envelopes.map(json.dumps) | deep | huge | tokens | st.text()
).map(lambda text: {"type": "websocket.receive", "text": text})
binary_frames = st.binary(max_size=300).map(
    lambda data: {"type": "websocket.receive", "bytes": data}
)
frames = text_frames | binary_frames


class Connected:
    """One socket driven from the synchronous test, example after example, on its own loop."""

    def __init__(self, communicator, valid) -> None:
        self.communicator = communicator
        self.valid = valid  # the type of a valid message, or None
        self.loop = asyncio.new_event_loop()

    def run(self, awaitable):
        return self.loop.run_until_complete(awaitable)

    def open(self, greeting: str | None = None) -> None:
        connected, code = self.run(self.communicator.connect(TIMEOUT))
        assert connected, code
        if greeting is not None:
            assert self.run(self.communicator.receive_json_from(TIMEOUT))["type"] == greeting

    def answer(self, frame: dict) -> dict:
        """Send the frame (a valid message that would change something as a ping instead) and
        return the one reply, having checked what it must be."""
        kind = self.valid(frame.get("text"))
        if kind is not None and kind not in HARMLESS:
            frame, kind = {"type": "websocket.receive", "text": '{"v": 2, "type": "ping"}'}, "ping"
        self.run(self.communicator.send_input(frame))
        reply = self.run(self.communicator.receive_json_from(TIMEOUT))
        if kind is None:
            assert reply["type"] == "error", reply
            assert reply["code"] in consumers.ERROR_MESSAGES, reply
            assert reply["message"], reply
        else:
            assert reply["type"] == HARMLESS.get(kind, "pong"), reply
        return reply

    def close(self) -> None:
        # Nothing arrived that no frame asked for, and the socket is still open.
        assert self.run(self.communicator.receive_nothing(0.1))
        self.run(self.communicator.disconnect(TIMEOUT))
        self.loop.close()


def room_type(text: str | None) -> str | None:
    try:
        return protocol.parse(text, django_settings.SIGNALING_MAX_MESSAGE_BYTES).type
    except protocol.ProtocolError:
        return None


def day_type(text: str | None) -> str | None:
    try:
        return staff_consumers.read(text)
    except protocol.ProtocolError:
        return None


def rows(appointment) -> list[dict]:
    return [model_to_dict(member) for member in Member.objects.filter(appointment=appointment)]


@pytest.fixture(autouse=True)
def unlimited(monkeypatch):
    """The examples come faster than any page sends; the limit has tests of its own."""
    monkeypatch.setattr(consumers, "RATE_LIMIT", "1000000/second")
    monkeypatch.setattr(staff_consumers, "RATE_LIMIT", "1000000/second")


def errors(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def fuzz_room(communicator, appointment, caplog) -> None:
    connected = Connected(communicator, room_type)
    connected.open("joined")
    before = rows(appointment)

    @FUZZ
    @given(frame=frames)
    def answers_every_frame(frame):
        connected.answer(frame)
        assert rows(appointment) == before
        assert errors(caplog) == []

    with caplog.at_level(logging.ERROR):
        try:
            answers_every_frame()
        finally:
            connected.close()


def test_the_citizens_room_socket_survives_whatever_it_is_sent(booking, caplog):
    dana = opened(agree(booking.citizen))
    fuzz_room(socket(booking.appointment, members=[dana]), booking.appointment, caplog)


def test_the_hosts_room_socket_survives_whatever_it_is_sent(booking, counselor, caplog):
    fuzz_room(socket(booking.appointment, user=counselor), booking.appointment, caplog)


def test_the_day_view_socket_survives_whatever_it_is_sent(booking, counselor, caplog):
    connected = Connected(day_view(counselor), day_type)
    connected.open()
    before = rows(booking.appointment)

    @FUZZ
    @given(frame=frames | st.just({"type": "websocket.receive", "text": '{"v":1,"type":"ping"}'}))
    def answers_every_frame(frame):
        connected.answer(frame)
        assert rows(booking.appointment) == before
        assert errors(caplog) == []

    with caplog.at_level(logging.ERROR):
        try:
            answers_every_frame()
        finally:
            connected.close()
