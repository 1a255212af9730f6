"""What the WebSockets promise against hostile pages and broken frames: every frame is parsed
within limits and answered, no crash leaves a ghost in the waiting room, the rate limit follows
the person and not the connection, and only the site's own pages may connect."""

import asyncio
import logging

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from tests.personas import agree
from tests.test_room_consumer import (
    TIMEOUT,
    Call,
    enter,
    next_of,
    opened,
    row,
    send,
    session_cookie,
    socket,
)

from videotermin.appointments.models import Member
from videotermin.calls import consumers, protocol, services
from videotermin.lib import ratelimit
from videotermin.staff import consumers as staff_consumers

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = "[" * 1000 + "]" * 1000
# Frames no page of ours sends, each a way the parsers have been made to fall over.
BROKEN = {
    "deep-array": DEEP,
    "deep-object": '{"a":' * 1000 + "1" + "}" * 1000,
    "empty": "",
    "not-json": "{not json",
    "nan": '{"v": 2, "type": "status", "network": {"rttMs": NaN, "mode": "high"}}',
    "infinity": '{"v": 2, "type": "status", "network": {"rttMs": Infinity, "mode": "high"}}',
    "overflowing-number": '{"v": 2, "type": "status", "network": {"rttMs": 1e999, "mode": "high"}}',
    "nul": '{"v": 2, "type": "status", "check": {"result": "green", "details": {"a": "\\u0000"}}}',
    "key-twice": '{"v": 2, "type": "ping", "type": "end"}',
    "a-list": "[]",
    "a-string": '"ping"',
}


def frame(communicator, text: str):
    """Send a text frame as it came, the empty one too (send_to refuses it)."""
    return communicator.send_input({"type": "websocket.receive", "text": text})


def run(scenario):
    async_to_sync(scenario)()


@pytest.fixture
def dana(booking):
    """Dana, having agreed, with the browser that opened her link."""
    return opened(agree(booking.citizen))


def citizen_socket(appointment, dana) -> WebsocketCommunicator:
    return socket(appointment, members=[dana])


def presence(member) -> tuple[str, str]:
    fresh = Member.objects.get(pk=member.pk)
    return fresh.presence, fresh.session


def day_view(user, origin: bytes | None = None) -> WebsocketCommunicator:
    """A day view of the signed-in user, opened by a page of the site (or of that origin)."""
    from django.conf import settings

    from videotermin.asgi import application

    headers = [
        (b"cookie", session_cookie(user)),
        (b"origin", origin or settings.SITE_URL.encode()),
        (b"host", b"localhost"),
        (b"accept-language", b"de"),
    ]
    return WebsocketCommunicator(application, "/ws/staff/", headers=headers)


# A. Every frame is parsed within limits; no crash leaves a ghost.


@pytest.mark.parametrize("who", ["citizen", "counselor"])
def test_a_deeply_nested_frame_gets_an_error_and_leaves_no_ghost(
    appointment, counselor, host, dana, who
):
    async def scenario():
        if who == "citizen":
            communicator, member = citizen_socket(appointment, dana), dana
        else:
            communicator, member = socket(appointment, user=counselor), host
        await enter(communicator)
        before = await database_sync_to_async(row)(member)
        await frame(communicator, DEEP)
        assert (await next_of(communicator, "error"))["code"] == "invalid"
        assert await database_sync_to_async(row)(member) == before
        await send(communicator, "ping")
        await next_of(communicator, "pong")
        await communicator.disconnect(timeout=TIMEOUT)
        assert await database_sync_to_async(presence)(member) == ("away", "")

    run(scenario)


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_frame_gets_an_error_changes_nothing_and_keeps_the_room_socket(
    appointment, dana, text
):
    async def scenario():
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)
        before = await database_sync_to_async(row)(dana)
        await frame(communicator, text)
        assert (await next_of(communicator, "error"))["code"] == "invalid"
        assert await database_sync_to_async(row)(dana) == before
        await send(communicator, "ping")
        await next_of(communicator, "pong")
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_binary_frame_gets_an_error_in_the_language_of_the_page(appointment, dana):
    async def scenario():
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)
        await communicator.send_to(bytes_data=b'{"v": 2, "type": "ping"}')
        error = await next_of(communicator, "error")
        # Dana's appointment is in German.
        assert (error["code"], error["message"]) == (
            "invalid",
            "Die Nachricht konnte nicht verstanden werden.",
        )
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_frame_over_the_size_limit_is_refused_unread(appointment, dana, settings):
    async def scenario():
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)
        await communicator.send_to(text_data="[" * (settings.SIGNALING_MAX_MESSAGE_BYTES + 1))
        assert (await next_of(communicator, "error"))["code"] == "too_large"
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_socket_that_dies_of_a_bug_leaves_no_ghost_to_admit(
    appointment, counselor, dana, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "update_status", broken)

    async def scenario():
        alice = socket(appointment, user=counselor)
        await enter(alice)
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)
        assert (await database_sync_to_async(presence)(dana))[0] == "waiting"
        await send(communicator, "status", camera=True)
        # The page is told to reconnect; its member is not in the waiting room meanwhile.
        assert (await communicator.receive_output(TIMEOUT)) == {
            "type": "websocket.close",
            "code": consumers.CLOSE_SERVER_ERROR,
        }
        assert await database_sync_to_async(presence)(dana) == ("away", "")
        await send(alice, "admit", member=str(dana.public_id))
        assert (await next_of(alice, "error"))["code"] == "not_allowed"
        await alice.disconnect(timeout=TIMEOUT)

    with caplog.at_level(logging.ERROR):
        run(scenario)
    assert "a bug" in caplog.text


def test_a_page_that_goes_while_a_message_is_on_its_way_leaves_quietly(
    appointment, counselor, dana, monkeypatch, caplog
):
    async def scenario():
        alice = socket(appointment, user=counselor)
        await enter(alice)
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)

        original = consumers.RoomConsumer.send_json

        async def gone(self, *args, **kwargs):
            if self.me == str(dana.public_id):
                raise OSError("the client went away")  # as uvicorn's ClientDisconnected
            return await original(self, *args, **kwargs)

        # Dana's tab closes just as Alice's camera change is sent to it.
        monkeypatch.setattr(consumers.RoomConsumer, "send_json", gone)
        await send(alice, "status", camera=True)
        for _ in range(50):
            if await database_sync_to_async(presence)(dana) == ("away", ""):
                break
            await asyncio.sleep(0.1)
        assert await database_sync_to_async(presence)(dana) == ("away", "")
        await alice.disconnect(timeout=TIMEOUT)

    with caplog.at_level(logging.INFO):
        run(scenario)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


@pytest.mark.parametrize(
    "text",
    [
        *BROKEN.values(),
        "[" * 400 + "]" * 400,  # deep, yet within the day view's smaller size limit
        '{"type": "ping"}',
        '{"v": true, "type": "ping"}',
        '{"v": 1, "type": 1}',
    ],
    ids=[*BROKEN.keys(), "deep-but-small", "no-version", "version-true", "type-a-number"],
)
def test_the_day_view_answers_a_broken_frame_with_an_error_and_stays_open(counselor, text):
    communicator = day_view(counselor)

    async def scenario():
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected
        await frame(communicator, text)
        error = await communicator.receive_json_from(TIMEOUT)
        assert error["type"] == "error"
        assert error["code"] in {"invalid", "unsupported_version", "too_large"}
        await communicator.send_json_to({"v": 1, "type": "ping"})
        assert await communicator.receive_json_from(TIMEOUT) == {"type": "pong", "v": 1}
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


@pytest.mark.parametrize(
    ("frame", "code", "message"),
    [
        ({"bytes_data": b"\x00\x01"}, "invalid", "Die Nachricht konnte nicht verstanden werden."),
        ({"text_data": "x" * 2000}, "too_large", "Die Nachricht ist zu groß."),
        (
            {"text_data": '{"v": 1, "type": "dance"}'},
            "unknown_type",
            "Diese Art von Nachricht ist nicht bekannt.",
        ),
    ],
    ids=["binary", "huge", "unknown"],
)
def test_the_day_view_speaks_its_errors_in_the_language_of_the_page(
    counselor, frame, code, message
):
    communicator = day_view(counselor)

    async def scenario():
        await communicator.connect(TIMEOUT)
        await communicator.send_to(**frame)
        error = await communicator.receive_json_from(TIMEOUT)
        assert (error["code"], error["message"]) == (code, message)
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


# B. The rate limit follows the member across connections.


def test_a_burst_of_a_hundred_ice_candidates_passes(appointment, dana):
    async def scenario():
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)
        for _ in range(100):
            await send(communicator, "ping")
        for _ in range(100):
            assert (await communicator.receive_json_from(TIMEOUT))["type"] == "pong"
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_the_rate_limit_does_not_reset_on_reconnect(appointment, dana, monkeypatch):
    monkeypatch.setattr(consumers, "RATE_LIMIT", "5/minute")

    async def scenario():
        for connection in range(2):
            communicator = citizen_socket(appointment, dana)
            await enter(communicator)
            for _ in range(3):
                await send(communicator, "ping")
            replies = [(await communicator.receive_json_from(TIMEOUT)) for _ in range(3)]
            await communicator.disconnect(timeout=TIMEOUT)
            codes = [reply.get("code", reply["type"]) for reply in replies]
            expected = ["pong"] * 3 if connection == 0 else ["pong", "pong", "rate_limited"]
            assert codes == expected

    run(scenario)


def test_the_rate_limit_of_one_member_does_not_slow_another(interpreter_booking, monkeypatch):
    monkeypatch.setattr(consumers, "RATE_LIMIT", "1/minute")
    appointment = interpreter_booking.appointment
    dana = opened(agree(interpreter_booking.citizen))
    olga = opened(agree(interpreter_booking.extras[0][0]))

    async def scenario():
        first, second = citizen_socket(appointment, dana), citizen_socket(appointment, olga)
        await enter(first)
        await enter(second)
        for communicator in (first, second):
            await send(communicator, "ping")
            await next_of(communicator, "pong")
        await send(first, "ping")
        assert (await next_of(first, "error"))["code"] == "rate_limited"
        await first.disconnect(timeout=TIMEOUT)
        await second.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_signals_to_one_person_do_not_use_up_the_allowance_for_another(
    interpreter_booking, counselor, monkeypatch
):
    monkeypatch.setattr(consumers, "SIGNAL_LIMIT", "2/minute")
    dana = opened(agree(interpreter_booking.citizen))
    olga = opened(agree(interpreter_booking.extras[0][0]))
    call = Call(interpreter_booking.appointment, counselor, dana, olga)
    candidate = {"candidate": "", "sdpMid": "0"}

    async def scenario():
        await call.start()
        for _ in range(2):
            await send(call.alice, "signal", to=call.sessions["dana"], candidate=candidate)
            await next_of(call.dana, "signal")
        await send(call.alice, "signal", to=call.sessions["dana"], candidate=candidate)
        refused = await next_of(call.alice, "error")
        # The page learns which of its messages was refused (it does not bother the person).
        assert (refused["code"], refused["ref"]) == ("rate_limited", "signal")

        # Setting up the connection with Olga at the same time is not held back.
        for _ in range(2):
            await send(call.alice, "signal", to=call.sessions["olga"], candidate=candidate)
            assert (await next_of(call.olga, "signal"))["from"] == call.sessions["alice"]
        # Nor is anything else Alice says.
        await send(call.alice, "ping")
        await next_of(call.alice, "pong")
        await call.stop()

    run(scenario)


def counting_parses(monkeypatch) -> list:
    """A list that grows by one with every frame the protocol parses."""
    parsed: list = []
    monkeypatch.setattr(
        protocol, "parse", lambda *args, real=protocol.parse: parsed.append(1) or real(*args)
    )
    return parsed


def test_a_flood_of_frames_is_refused_before_it_is_parsed(appointment, dana, monkeypatch):
    monkeypatch.setattr(consumers, "FLOOD_LIMIT", "3/minute")
    parsed = counting_parses(monkeypatch)

    async def scenario():
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)
        for _ in range(5):
            await send(communicator, "ping")
        replies = [(await communicator.receive_json_from(TIMEOUT)) for _ in range(5)]
        assert [reply.get("code", reply["type"]) for reply in replies] == (
            ["pong"] * 3 + ["rate_limited"] * 2
        )
        assert len(parsed) == 3
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_ping_as_the_pages_write_it_is_answered_unparsed_and_counted_like_any_other(
    appointment, dana, monkeypatch
):
    monkeypatch.setattr(consumers, "RATE_LIMIT", "3/minute")
    parsed = counting_parses(monkeypatch)

    async def scenario():
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)
        for _ in range(2):
            await communicator.send_to(text_data='{"v":2,"type":"ping"}')
            assert await communicator.receive_from(TIMEOUT) == '{"type":"pong","v":2}'
        assert parsed == []
        # Spelled otherwise, it is parsed, answered alike and counted with the others.
        await communicator.send_to(text_data='{"type": "ping", "v": 2}')
        assert await communicator.receive_json_from(TIMEOUT) == {"type": "pong", "v": 2}
        assert parsed == [1]
        await communicator.send_to(text_data='{"v":2,"type":"ping"}')
        refused = await communicator.receive_json_from(TIMEOUT)
        assert (refused["code"], refused["ref"]) == ("rate_limited", "ping")
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_the_day_view_limit_counts_the_user_over_all_day_views(counselor, monkeypatch):
    monkeypatch.setattr(staff_consumers, "RATE_LIMIT", "2/minute")

    views = [day_view(counselor), day_view(counselor)]

    async def scenario():
        replies = []
        for view in views:
            await view.connect(TIMEOUT)
            for _ in range(2 if view is views[0] else 1):
                await view.send_json_to({"v": 1, "type": "ping"})
                replies.append(await view.receive_json_from(TIMEOUT))
            await view.disconnect(timeout=TIMEOUT)
        assert [reply.get("code", reply["type"]) for reply in replies] == [
            "pong",
            "pong",
            "rate_limited",
        ]

    run(scenario)


def test_a_limit_counts_per_key():
    ratelimit.forget()
    assert [ratelimit.hit_sync("test:a", "2/minute") for _ in range(3)] == [True, True, False]
    assert ratelimit.hit_sync("test:b", "2/minute")
    ratelimit.forget()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_frames_are_counted_in_a_moving_window_a_burst_passes_and_the_average_holds():
    clock = Clock(1000.0)  # the start of a 10 s window
    counts = ratelimit.FrameCounts(clock)
    assert [counts.hit("m", "4/10 seconds") for _ in range(5)] == [True] * 4 + [False]
    # Half of the earlier window still counts (2 of its 4): two more pass, not four.
    clock.now = 1015.0
    assert [counts.hit("m", "4/10 seconds") for _ in range(3)] == [True, True, False]
    # Another key, another count.
    assert counts.hit("n", "4/10 seconds")
    # A whole window later nothing of it is left.
    clock.now = 1030.0
    assert [counts.hit("m", "4/10 seconds") for _ in range(5)] == [True] * 4 + [False]


def test_frame_counts_of_people_gone_are_forgotten():
    clock = Clock(1000.0)
    counts = ratelimit.FrameCounts(clock)
    for member in range(100):
        counts.hit(f"room:member:{member}", "100/5 seconds")
    clock.now += counts.SWEEP_SECONDS + 1
    counts.hit("room:member:still-here", "100/5 seconds")
    assert list(counts.windows) == [("room:member:still-here", "100/5 seconds")]


# C. Only the site's own pages may connect.


@pytest.mark.parametrize(
    ("origin", "admitted"),
    [
        (b"https://video.agentur.example", True),
        (b"https://VIDEO.agentur.example:443", True),
        (b"https://video.partner.example", True),  # named in WEBSOCKET_ALLOWED_ORIGINS
        (b"http://video.agentur.example", False),
        (b"https://video.agentur.example:8443", False),
        (b"https://video.agentur.example.evil.example", False),
        (b"https://evil.example", False),
        (b"https://video.partner.example:444", False),
        (b"https://video.agentur.example/path", False),
        (b"https://someone@video.agentur.example", False),
        (b"null", False),
        (None, False),
    ],
)
def test_only_the_whole_origin_of_the_site_may_open_a_socket(
    appointment, counselor, settings, origin, admitted
):
    from videotermin.asgi import application

    settings.SITE_URL = "https://video.agentur.example"
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://video.partner.example"]

    cookie = session_cookie(counselor)

    async def scenario():
        headers = [(b"host", b"video.agentur.example"), (b"cookie", cookie)]
        if origin is not None:
            headers.append((b"origin", origin))
        communicator = WebsocketCommunicator(
            application, f"/ws/room/{appointment.public_id}/", headers=headers
        )
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected is admitted
        await communicator.disconnect()

    run(scenario)


def test_a_socket_of_a_session_that_a_new_password_signed_out_belongs_to_nobody(counselor):
    """The user comes from the session, checked as Django checks it for pages: a password
    changed elsewhere ends the old session's sockets too."""
    before, after = day_view(counselor), day_view(counselor)

    async def connects(communicator) -> bool:
        connected, _ = await communicator.connect(TIMEOUT)
        await communicator.disconnect()
        return connected

    assert async_to_sync(connects)(before)
    counselor.set_password("a whole new passphrase")
    counselor.save()
    assert not async_to_sync(connects)(after)


@pytest.mark.parametrize(
    ("origin", "admitted"),
    [
        (b"http://127.0.0.1:8000", True),
        (b"http://127.0.0.1:9999", False),
        (b"https://127.0.0.1", False),
        (b"http://127.0.0.1", False),
    ],
)
def test_another_port_or_scheme_of_the_same_host_is_another_site(
    counselor, settings, origin, admitted
):
    settings.SITE_URL = "http://127.0.0.1:8000"
    communicator = day_view(counselor, origin=origin)

    async def scenario():
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected is admitted
        await communicator.disconnect()

    run(scenario)


# D. The envelope is exactly what docs/protocol.md says.


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"v": true, "type": "ping"}', "unsupported_version"),
        ('{"v": 2.0, "type": "ping"}', "unsupported_version"),
        ('{"v": "2", "type": "ping"}', "unsupported_version"),
        ('{"type": "ping"}', "invalid"),
        ('{"v": 2, "type": 5}', "invalid"),
        ('{"v": 2, "type": ["ping"]}', "invalid"),
        ('{"v": 2, "type": null}', "invalid"),
        ('{"v": 2}', "invalid"),
        ('{"v": 2, "type": "dance"}', "unknown_type"),
        ('{"v": 2, "type": "ping", "extra": 1}', "invalid"),
        ('{"v": 2, "type": "ping", "v": 2}', "invalid"),
    ],
)
def test_the_envelope_is_validated_strictly(appointment, dana, text, code):
    with pytest.raises(protocol.ProtocolError) as refused:
        protocol.parse(text, 65536)
    assert refused.value.code == code

    async def scenario():
        communicator = citizen_socket(appointment, dana)
        await enter(communicator)
        await frame(communicator, text)
        assert (await next_of(communicator, "error"))["code"] == code
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)
