"""The room's WebSocket, protocol version 2: who gets in, what each member is told, where
signals go, what bad or unauthorised messages get back, and what it all costs the database."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.backends.utils import CursorWrapper
from django.forms.models import model_to_dict
from django.test import Client
from tests.personas import agree

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Member
from videotermin.asgi import websocket_urlpatterns
from videotermin.audit.models import AuditEntry
from videotermin.calls.state import SESSION_KEY

pytestmark = pytest.mark.django_db(transaction=True)

application = URLRouter(websocket_urlpatterns)

# The consumer reads the database in a thread of its own; on a busy machine that takes a moment.
TIMEOUT = 3
SAMPLE = {"rttMs": 48.5, "lossPct": 1.2, "kbpsOut": 151.0, "kbpsIn": 620, "mode": "saver"}


def socket(appointment, *, user=None, members=()) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/room/{appointment.public_id}/")
    communicator.scope["user"] = user or AnonymousUser()
    communicator.scope["session"] = {SESSION_KEY: {str(m.public_id): m.opened for m in members}}
    return communicator


def session_cookie(user) -> bytes:
    """The Cookie header of a browser in which the user signed in."""
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


async def enter(communicator) -> dict:
    """Connect and return the `joined` message."""
    connected, code = await communicator.connect(TIMEOUT)
    assert connected, code
    joined = await communicator.receive_json_from(TIMEOUT)
    assert joined["type"] == "joined", joined
    assert joined["v"] == 2
    return joined


async def next_of(communicator, kind: str, where=lambda message: True) -> dict:
    """The next message of this type (and condition); other messages in between are skipped."""
    while True:
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        if message["type"] == kind and where(message):
            return message


async def nothing_of(communicator, kind: str) -> None:
    """No message of this type arrives for a while."""
    while not await communicator.receive_nothing(timeout=0.3):
        message = await communicator.receive_json_from(TIMEOUT)
        assert message["type"] != kind, message


def about(member, **fields):
    """A condition on `member` deltas: about this member, with these fields."""
    public_id = str(member.public_id)

    def condition(message):
        entry = message["member"]
        return entry["id"] == public_id and all(entry.get(k) == v for k, v in fields.items())

    return condition


def run(scenario):
    async_to_sync(scenario)()


def send(communicator, type_: str, **fields):
    return communicator.send_json_to({"v": 2, "type": type_, **fields})


@pytest.fixture
def appointment(interpreter_booking):
    """Dana's appointment with Olga as her interpreter (in this module)."""
    return interpreter_booking.appointment


def opened(member):
    """The member as a browser has them after opening their link (`opened`: the link's id)."""
    member.opened = member.links.order_by("pk").first().pk
    return member


@pytest.fixture
def olga(interpreter_booking):
    """Olga, the interpreter, after agreeing to the consent text."""
    return opened(agree(interpreter_booking.extras[0][0]))


@pytest.fixture
def dana(interpreter_booking):
    return opened(agree(interpreter_booking.citizen))


class Call:
    """Alice hosting, Dana and Olga admitted: three connections in one call."""

    def __init__(self, appointment, counselor, dana, olga) -> None:
        self.appointment = appointment
        self.alice = socket(appointment, user=counselor)
        self.dana = socket(appointment, members=[dana])
        self.olga = socket(appointment, members=[olga])
        self.members = {"dana": dana, "olga": olga}
        self.sessions: dict[str, str] = {}

    async def start(self) -> "Call":
        self.sessions["alice"] = (await enter(self.alice))["session"]
        for name in ("dana", "olga"):
            communicator = getattr(self, name)
            self.sessions[name] = (await enter(communicator))["session"]
            await send(self.alice, "admit", member=str(self.members[name].public_id))
            await next_of(communicator, "member", about(self.members[name], presence="in_call"))
        return self

    async def stop(self) -> None:
        for communicator in (self.alice, self.dana, self.olga):
            await communicator.disconnect(timeout=TIMEOUT)


@pytest.fixture
def call(interpreter_booking, counselor, dana, olga):
    return Call(interpreter_booking.appointment, counselor, dana, olga)


class Queries:
    """Every database query of the process while the block runs, in whatever thread or task:
    the consumers' database work runs in threads of their own."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.sql: list[str] = []

    async def __aenter__(self) -> "Queries":
        original = CursorWrapper._execute_with_wrappers
        sql = self.sql

        def counting(cursor, query, *args, **kwargs):
            sql.append(query)
            return original(cursor, query, *args, **kwargs)

        self.monkeypatch.setattr(CursorWrapper, "_execute_with_wrappers", counting)
        return self

    async def __aexit__(self, *exc) -> None:
        self.monkeypatch.undo()

    def __len__(self) -> int:
        return len(self.sql)


def row(member) -> dict:
    return model_to_dict(Member.objects.get(pk=member.pk))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "invalid"),
        (json.dumps({"v": 2, "type": "status", "camera": True, "pad": "x" * 70_000}), "too_large"),
        (json.dumps({"v": 2, "type": "dance"}), "unknown_type"),
        (json.dumps({"v": 1, "type": "status", "camera": True}), "unsupported_version"),
        (json.dumps({"v": 2, "type": "status", "camera": "yes"}), "invalid"),
        ('{"v": 2, "type": "status", "network": {"rttMs": NaN, "mode": "high"}}', "invalid"),
        (
            '{"v": 2, "type": "status", "check": {"result": "green", "details": {"a": Infinity}}}',
            "invalid",
        ),
        ("[" * 1000 + "]" * 1000, "invalid"),
        (
            json.dumps(
                {
                    "v": 2,
                    "type": "status",
                    "check": {"result": "green", "details": {"a": [[[[[[[1]]]]]]]}},
                }
            ),
            "invalid",
        ),
        (
            json.dumps(
                {
                    "v": 2,
                    "type": "signal",
                    "to": "0123456789abcdef",
                    "from": "fedcba9876543210",
                    "candidate": {"candidate": ""},
                }
            ),
            "invalid",
        ),
    ],
    ids=[
        "not-json",
        "huge",
        "unknown",
        "v1",
        "not-bool",
        "nan",
        "infinity",
        "deep-array",
        "deep-details",
        "claims-sender",
    ],
)
def test_a_bad_message_gets_an_error_reply_changes_nothing_and_keeps_the_socket(
    dana, appointment, text, code
):
    async def scenario():
        communicator = socket(appointment, members=[dana])
        await enter(communicator)
        before = await database_sync_to_async(row)(dana)
        await communicator.send_to(text_data=text)
        error = await next_of(communicator, "error")
        assert error["code"] == code
        assert error["message"]
        assert await database_sync_to_async(row)(dana) == before
        await send(communicator, "ping")
        await next_of(communicator, "pong")
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_joined_tells_each_member_its_role_and_what_it_may_do(appointment, counselor, dana, olga):
    async def scenario():
        alice = socket(appointment, user=counselor)
        host = await enter(alice)
        citizen = socket(appointment, members=[dana])
        joined = await enter(citizen)
        assert host["self"]["role"] == "host"
        assert host["self"]["may"] == {"screen": True, "documents": True, "chat": True}
        assert joined["self"] == {
            "id": str(dana.public_id),
            "role": "citizen",
            "may": {"screen": False, "documents": True, "chat": True},
        }
        assert joined["appointment"]["id"] == str(appointment.public_id)
        assert joined["ice"]["policy"] == "all"
        await citizen.disconnect(timeout=TIMEOUT)
        await alice.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_staff_see_the_device_check_and_the_citizen_sees_only_who_was_let_in(
    appointment, counselor, dana, olga
):
    async def scenario():
        interpreter = socket(appointment, members=[olga])
        await enter(interpreter)  # Olga waits
        citizen = socket(appointment, members=[dana])
        joined = await enter(citizen)
        alice = socket(appointment, user=counselor)
        host = await enter(alice)

        seen_by_dana = {m["id"]: m["role"] for m in joined["members"]}
        assert sorted(seen_by_dana.values()) == ["citizen", "host"], "not the waiting Olga"
        assert all("check" not in m for m in joined["members"])
        seen_by_alice = {m["id"]: m for m in host["members"]}
        assert seen_by_alice[str(olga.public_id)]["presence"] == "waiting"
        assert "browser" in seen_by_alice[str(olga.public_id)]

        # The host coming is announced to Dana; Olga appears for her once she is let in.
        came = await next_of(citizen, "member", lambda m: m["member"]["role"] == "host")
        assert came["member"]["presence"] == "in_call" and "check" not in came["member"]
        await send(alice, "admit", member=str(olga.public_id))
        olga_added = await next_of(citizen, "member", about(olga))
        assert olga_added["op"] == "added"
        assert olga_added["member"]["role"] == "interpreter"
        for communicator in (citizen, interpreter, alice):
            await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_citizen_may_not_take_the_hosts_decisions(dana, olga, appointment):
    async def scenario():
        communicator = socket(appointment, members=[dana])
        await enter(communicator)
        target = str(olga.public_id)
        for type_, fields in [
            ("admit", {"member": target}),
            ("identity", {"member": target}),
            ("permissions", {"member": target, "screen": True}),
            ("remove", {"member": target}),
            ("handover", {"member": target}),
            ("end", {}),
        ]:
            await send(communicator, type_, **fields)
            error = await next_of(communicator, "error")
            assert (error["code"], error["ref"]) == ("not_allowed", type_)
        await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)
    olga.refresh_from_db()
    assert olga.admitted_at is None and olga.removed_at is None and not olga.may_share_screen
    appointment.refresh_from_db()
    assert appointment.call_ended_at is None


def test_a_citizen_cannot_signal_before_admission(dana, appointment, counselor):
    async def scenario():
        alice = socket(appointment, user=counselor)
        host_session = (await enter(alice))["session"]
        citizen = socket(appointment, members=[dana])
        await enter(citizen)
        await send(citizen, "signal", to=host_session, description={"type": "offer", "sdp": "v=0"})
        error = await next_of(citizen, "error")
        assert (error["code"], error["ref"]) == ("not_allowed", "signal")
        await nothing_of(alice, "signal")
        await citizen.disconnect(timeout=TIMEOUT)
        await alice.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_session_that_did_not_open_the_link_is_refused(dana, appointment):
    async def scenario():
        connected, code = await socket(appointment).connect(TIMEOUT)
        assert (connected, code) == (False, 4403)

    run(scenario)


def test_a_counselor_of_another_agency_is_refused(appointment, outsider):
    async def scenario():
        connected, code = await socket(appointment, user=outsider).connect(TIMEOUT)
        assert (connected, code) == (False, 4403)

    run(scenario)


def test_a_signal_reaches_only_the_member_it_is_for_with_the_sender_the_server_knows(call):
    async def scenario():
        await call.start()
        await send(
            call.alice,
            "signal",
            to=call.sessions["dana"],
            description={"type": "offer", "sdp": "v=0"},
        )
        signal = await next_of(call.dana, "signal")
        assert signal["from"] == call.sessions["alice"]
        assert signal["member"] != str(call.members["dana"].public_id)
        assert signal["description"] == {"type": "offer", "sdp": "v=0"}
        await nothing_of(call.olga, "signal")

        await send(
            call.olga,
            "signal",
            to=call.sessions["dana"],
            candidate={"candidate": "", "sdpMid": "0"},
        )
        from_olga = await next_of(call.dana, "signal")
        assert from_olga["from"] == call.sessions["olga"]
        assert from_olga["member"] == str(call.members["olga"].public_id)
        await nothing_of(call.alice, "signal")
        await call.stop()

    run(scenario)


def test_a_signal_to_a_connection_of_another_room_goes_nowhere(call, book):
    other = book(name="Emil Sommer", email="emil@example.org")
    emil = opened(agree(other.citizen))

    async def scenario():
        await call.start()
        stranger = socket(other.appointment, members=[emil])
        stranger_session = (await enter(stranger))["session"]
        await send(call.dana, "signal", to=stranger_session, candidate={"candidate": ""})
        error = await next_of(call.dana, "error")
        assert (error["code"], error["ref"]) == ("not_allowed", "signal")
        await nothing_of(stranger, "signal")
        await stranger.disconnect(timeout=TIMEOUT)
        await call.stop()

    run(scenario)


def test_relaying_a_signal_costs_no_database_query(call, monkeypatch):
    async def scenario():
        await call.start()
        await call.dana.receive_nothing(timeout=0.5)
        async with Queries(monkeypatch) as queries:
            for _ in range(20):
                await send(
                    call.alice, "signal", to=call.sessions["dana"], candidate={"candidate": ""}
                )
            for _ in range(20):
                await next_of(call.dana, "signal")
        assert len(queries) == 0, queries.sql
        await call.stop()

    run(scenario)


def test_a_member_change_costs_the_same_queries_however_many_are_connected(
    interpreter_booking, counselor, colleague, dana, olga, monkeypatch
):
    """The fan-out of a change reads nothing: the event carries what every page needs."""
    appointment = interpreter_booking.appointment

    async def toggle_camera(citizen, watchers, on: bool) -> int:
        async with Queries(monkeypatch) as queries:
            await send(citizen, "status", camera=on)
            for watcher in watchers:
                await next_of(watcher, "member", about(dana, camera=on))
        assert queries.sql, "the change itself is stored"
        return len(queries)

    async def scenario():
        alice = socket(appointment, user=counselor)
        await enter(alice)
        citizen = socket(appointment, members=[dana])
        await enter(citizen)
        await send(alice, "admit", member=str(dana.public_id))
        await next_of(citizen, "member", about(dana, presence="in_call"))
        few = await toggle_camera(citizen, [alice], True)

        bob = socket(appointment, user=colleague)
        await enter(bob)
        interpreter = socket(appointment, members=[olga])
        await enter(interpreter)
        await send(alice, "admit", member=str(olga.public_id))
        await next_of(interpreter, "member", about(olga, presence="in_call"))
        many = await toggle_camera(citizen, [alice, bob, interpreter], False)

        assert many == few, (few, many)
        for communicator in (alice, citizen, bob, interpreter):
            await communicator.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_colleague_who_opens_the_room_is_announced_to_everybody(call, colleague):
    async def scenario():
        await call.start()
        bob = socket(call.appointment, user=colleague)
        joined = await enter(bob)
        assert joined["self"]["role"] == "colleague"
        for communicator in (call.alice, call.dana, call.olga):
            added = await next_of(
                communicator, "member", lambda m: m["member"]["role"] == "colleague"
            )
            assert added["op"] == "added"
            assert added["member"]["name"] == "Bob Schulz"
        await bob.disconnect(timeout=TIMEOUT)
        await call.stop()

    run(scenario)


def test_a_removed_member_is_taken_out_of_the_call_and_the_others_see_them_go(call):
    async def scenario():
        await call.start()
        await send(call.alice, "remove", member=str(call.members["olga"].public_id))
        closed = await next_of(call.olga, "closed")
        assert closed["reason"] == "removed"
        assert (await call.olga.receive_output(TIMEOUT))["code"] == 4410
        left = await next_of(
            call.dana, "member", lambda m: m["op"] == "left" and about(call.members["olga"])(m)
        )
        assert left["member"] == {"id": str(call.members["olga"].public_id)}
        await call.alice.disconnect(timeout=TIMEOUT)
        await call.dana.disconnect(timeout=TIMEOUT)

    run(scenario)
    olga = Member.objects.get(pk=call.members["olga"].pk)
    assert olga.removed_at is not None
    assert not olga.links.filter(revoked_at__isnull=True).exists()


def test_revoking_a_permission_reaches_every_page_at_once(call):
    async def scenario():
        await call.start()
        dana = call.members["dana"]
        await send(call.alice, "permissions", member=str(dana.public_id), screen=True)
        for communicator in (call.dana, call.olga):
            granted = await next_of(communicator, "member", about(dana))
            assert granted["member"]["may"]["screen"] is True
        await send(call.dana, "status", screen=True)
        await next_of(call.olga, "member", about(dana, screen=True))

        await send(call.alice, "permissions", member=str(dana.public_id), screen=False, chat=False)

        revoked = {"screen": False, "documents": True, "chat": False}
        for communicator in (call.alice, call.dana, call.olga):
            change = await next_of(communicator, "member", about(dana, may=revoked))
            assert change["member"]["screen"] is False, "the running share ends"
        await send(call.dana, "status", screen=True)
        error = await next_of(call.dana, "error")
        assert (error["code"], error["ref"]) == ("not_allowed", "status")
        await call.stop()

    run(scenario)
    entries = AuditEntry.objects.filter(action="videotermin.member.permissions_changed")
    assert [e.data for e in entries.order_by("at")] == [
        {"member": call.members["dana"].audit_ref, "share_screen": True},
        {"member": call.members["dana"].audit_ref, "share_screen": False, "chat": False},
    ]


def test_the_host_hands_over_and_every_page_learns_the_new_roles(call, colleague):
    async def scenario():
        await call.start()
        bob = socket(call.appointment, user=colleague)
        bob_id = (await enter(bob))["self"]["id"]
        await send(call.alice, "handover", member=bob_id)
        promoted = await next_of(
            call.dana,
            "member",
            lambda m: m["member"]["id"] == bob_id and m["member"]["role"] == "host",
        )
        assert promoted["op"] == "changed"
        await next_of(
            bob, "member", lambda m: m["member"]["id"] == bob_id and m["member"]["role"] == "host"
        )
        # Alice is a colleague now: admitting is Bob's.
        await send(call.alice, "end")
        error = await next_of(call.alice, "error")
        assert error["code"] == "not_allowed"
        await bob.disconnect(timeout=TIMEOUT)
        await call.stop()

    run(scenario)


def test_leaving_closes_only_the_own_page_and_the_call_goes_on(call):
    async def scenario():
        await call.start()
        await send(call.dana, "leave")
        assert (await next_of(call.dana, "closed"))["reason"] == "left"
        gone = await next_of(call.olga, "member", about(call.members["dana"], presence="left"))
        assert gone["member"]["session"] is None
        await call.olga.send_json_to({"v": 2, "type": "ping"})
        await next_of(call.olga, "pong")
        back = socket(call.appointment, members=[call.members["dana"]])
        joined = await enter(back)
        mine = next(m for m in joined["members"] if m["id"] == joined["self"]["id"])
        assert mine["presence"] == "in_call", "back in the call without a new admission"
        await back.disconnect(timeout=TIMEOUT)
        await call.stop()

    run(scenario)


def test_the_host_ends_the_consultation_for_everybody(call):
    async def scenario():
        await call.start()
        await send(call.alice, "end")
        for communicator in (call.alice, call.dana, call.olga):
            assert (await next_of(communicator, "closed"))["reason"] == "ended"
            assert (await communicator.receive_output(TIMEOUT))["code"] == 4410

    run(scenario)


def test_a_second_window_of_the_same_person_supersedes_the_first(dana, appointment):
    async def scenario():
        first = socket(appointment, members=[dana])
        await enter(first)
        second = socket(appointment, members=[dana])
        await enter(second)
        assert (await next_of(first, "closed"))["reason"] == "superseded"
        assert (await first.receive_output(TIMEOUT))["code"] == 4409
        await send(second, "ping")
        await next_of(second, "pong")
        await second.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert Member.objects.get(pk=dana.pk).presence == "away"


def test_a_seventh_person_is_refused_with_a_clear_message(book, agency, location, colleague):
    from tests.personas import interpreter_invitee, make_staff

    booking = book(extras=[interpreter_invitee(email=f"o{i}@example.org") for i in range(3)])
    appointments.join_as_staff(booking.appointment, colleague)
    carla = make_staff(agency, location, "carla", "Carla Neumann")

    async def scenario():
        communicator = socket(booking.appointment, user=carla)
        communicator.scope["headers"] = [(b"accept-language", b"en")]
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected
        error = await communicator.receive_json_from(TIMEOUT)
        assert error["type"] == "error" and "at most 6 people" in error["message"]
        assert (await communicator.receive_output(TIMEOUT))["code"] == 4410

    run(scenario)


def test_a_network_sample_reaches_the_staff_only_and_is_not_stored(call, colleague):
    async def scenario():
        await call.start()
        bob = socket(call.appointment, user=colleague)
        await enter(bob)
        before = await database_sync_to_async(row)(call.members["dana"])
        entries = await database_sync_to_async(AuditEntry.objects.count)()
        await send(call.dana, "status", network=SAMPLE)
        for staff in (call.alice, bob):
            sample = await next_of(staff, "network")
            assert sample["member"] == str(call.members["dana"].public_id)
            assert sample["session"] == call.sessions["dana"]
            assert sample["network"] == SAMPLE
        await nothing_of(call.olga, "network")
        await nothing_of(call.dana, "network")
        assert await database_sync_to_async(row)(call.members["dana"]) == before
        assert await database_sync_to_async(AuditEntry.objects.count)() == entries
        await bob.disconnect(timeout=TIMEOUT)
        await call.stop()

    run(scenario)


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
def test_a_malformed_network_sample_gets_an_error_and_reaches_nobody(call, network):
    async def scenario():
        await call.start()
        await call.dana.send_to(
            text_data=json.dumps({"v": 2, "type": "status", "network": network})
        )
        error = await next_of(call.dana, "error")
        assert (error["code"], error["ref"]) == ("invalid", "status")
        await nothing_of(call.alice, "network")
        await call.stop()

    run(scenario)


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (None, "Sie sind noch nicht im Gespräch."),  # her appointment is in German
        ("en", "You are not in the call yet."),  # she switched to English
    ],
)
def test_the_citizens_errors_speak_the_language_of_her_pages(dana, appointment, chosen, expected):
    async def scenario():
        communicator = socket(appointment, members=[dana])
        communicator.scope["headers"] = [(b"accept-language", b"fr-FR,en;q=0.5")]
        if chosen:
            communicator.scope["cookies"] = {"videotermin_language": chosen}
        await enter(communicator)
        await send(communicator, "signal", to="0123456789abcdef", candidate={"candidate": ""})
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
    appointment, counselor, settings, origin, admitted
):
    """The WebSocket checks the Origin against SITE_URL's before anything else runs."""
    from videotermin.asgi import application as full_application

    settings.SITE_URL = "http://localhost"
    cookie = session_cookie(counselor)

    async def scenario():
        # Even a signed-in counselor's browser is refused when the page is not ours.
        communicator = WebsocketCommunicator(
            full_application,
            f"/ws/room/{appointment.public_id}/",
            headers=[(b"origin", origin), (b"host", b"localhost"), (b"cookie", cookie)],
        )
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected is admitted
        await communicator.disconnect()

    run(scenario)


def test_correcting_an_address_takes_the_page_opened_with_the_old_link_out_of_the_room(
    appointment, dana, counselor
):
    async def scenario():
        wrong = socket(appointment, members=[dana])
        await enter(wrong)
        await database_sync_to_async(appointments.update_member)(
            dana, by=counselor, email="dana.yilmaz@example.org"
        )
        assert (await next_of(wrong, "closed"))["reason"] == "replaced"
        again = socket(appointment, members=[dana])
        connected, code = await again.connect(TIMEOUT)
        assert (connected, code) == (False, 4403)

    run(scenario)


def test_a_page_that_lost_its_socket_comes_back_under_its_session_and_nobody_else_can(
    appointment, counselor, dana, olga
):
    async def scenario():
        first = socket(appointment, members=[dana])
        session = (await enter(first))["session"]
        await first.disconnect()
        back = WebsocketCommunicator(
            application, f"/ws/room/{appointment.public_id}/?resume={session}"
        )
        back.scope.update(user=first.scope["user"], session=first.scope["session"])
        assert (await enter(back))["session"] == session
        # Olga asking for Dana's session gets one of her own.
        other = WebsocketCommunicator(
            application, f"/ws/room/{appointment.public_id}/?resume={session}"
        )
        other.scope.update(
            user=AnonymousUser(), session=socket(appointment, members=[olga]).scope["session"]
        )
        assert (await enter(other))["session"] != session
        await back.disconnect()
        await other.disconnect()

    run(scenario)


def test_a_database_hiccup_fails_one_message_and_keeps_the_socket(
    appointment, counselor, dana, monkeypatch
):
    from django.db import OperationalError

    from videotermin.calls import services

    def database_away(*args, **kwargs):
        raise OperationalError("the database is restarting")

    async def scenario():
        page = socket(appointment, members=[dana])
        await enter(page)
        with monkeypatch.context() as patched:
            patched.setattr(services, "update_status", database_away)
            await send(page, "status", camera=False)
            error = await next_of(page, "error")
        assert (error["code"], error["ref"]) == ("unavailable", "status")
        await send(page, "status", camera=False)
        await send(page, "ping")
        await next_of(page, "pong")
        await page.disconnect()

    run(scenario)
    assert Member.objects.get(pk=dana.pk).camera_on is False


def test_a_socket_whose_page_went_silent_is_closed_and_its_member_no_longer_waits(
    appointment, dana, monkeypatch
):
    from videotermin.calls import consumers

    monkeypatch.setattr(consumers, "IDLE_SECONDS", 0.4)

    async def scenario():
        page = socket(appointment, members=[dana])
        await enter(page)
        output = await page.receive_output(timeout=TIMEOUT)
        while output["type"] != "websocket.close":
            output = await page.receive_output(timeout=TIMEOUT)
        assert output["code"] == 1001

    run(scenario)
    assert Member.objects.get(pk=dana.pk).presence == Member.Presence.AWAY


def test_one_watch_closes_the_silent_page_and_leaves_the_talking_one_open(
    appointment, dana, olga, monkeypatch
):
    from videotermin.calls import consumers

    monkeypatch.setattr(consumers, "IDLE_SECONDS", 0.4)

    async def scenario():
        silent, talking = socket(appointment, members=[dana]), socket(appointment, members=[olga])
        await enter(silent)
        await enter(talking)
        watch = consumers.silence_watch()
        assert len(watch.sockets) == 2
        closed = None
        for _ in range(30):
            await send(talking, "ping")
            while not await silent.receive_nothing(timeout=0.05):
                output = await silent.receive_output(timeout=TIMEOUT)
                if output["type"] == "websocket.close":
                    closed = output["code"]
            if closed is not None:
                break
        assert closed == 1001
        await send(talking, "ping")
        await next_of(talking, "pong")
        assert len(watch.sockets) == 1
        await talking.disconnect(timeout=TIMEOUT)
        assert not watch.sockets

    run(scenario)
    assert Member.objects.get(pk=dana.pk).presence == Member.Presence.AWAY
    assert Member.objects.get(pk=olga.pk).presence == Member.Presence.AWAY


@pytest.mark.parametrize("layer", ["copying", "sharing"])
def test_only_the_staffs_sockets_keep_the_members_device_details(
    appointment, counselor, dana, monkeypatch, layer
):
    """Thousands of citizens' sockets each keep their room's members: without what they are
    never shown. A layer may hand one event object to several sockets of a process (Redis's
    does): what one socket keeps must not change what another is shown."""
    import channels.layers

    from videotermin.calls import consumers

    if layer == "sharing":
        monkeypatch.setattr(channels.layers, "deepcopy", lambda message: message)

    async def scenario():
        alice, citizen = socket(appointment, user=counselor), socket(appointment, members=[dana])
        await enter(alice)
        await enter(citizen)
        await send(alice, "admit", member=str(dana.public_id))
        await next_of(citizen, "member", about(dana, presence="in_call"))
        await send(citizen, "status", camera=True)
        await next_of(alice, "member", about(dana, camera=True))
        await next_of(citizen, "member", about(dana, camera=True))
        kept = {
            socket.member.role: [sorted(event) for event in socket.table.values()]
            for socket in consumers.silence_watch().sockets
        }
        assert len(kept["host"]) == len(kept["citizen"]) == 3  # Alice, Dana and Olga
        assert all("details" in event for event in kept["host"])
        assert not any("details" in event for event in kept["citizen"])
        # The host is still shown Dana's device details with her next change.
        await send(citizen, "status", camera=False)
        changed = await next_of(alice, "member", about(dana, camera=False))
        assert "check" in changed["member"]
        await alice.disconnect(timeout=TIMEOUT)
        await citizen.disconnect(timeout=TIMEOUT)

    run(scenario)


def test_a_socket_that_cannot_announce_its_arrival_leaves_no_connected_member_behind(
    appointment, dana, monkeypatch
):
    from videotermin.lib import events

    class Away:
        """The channel layer as the services see it, gone between the commit and the publish."""

        async def group_send(self, group, message):
            raise ConnectionError("the channel layer is away")

        send = group_send

    monkeypatch.setattr(events, "get_channel_layer", Away)

    async def scenario():
        page = socket(appointment, members=[dana])
        connected, _code = await page.connect(TIMEOUT)
        assert connected
        output = await page.receive_output(timeout=TIMEOUT)
        assert (output["type"], output.get("code")) == ("websocket.close", 1011)

    run(scenario)
    member = Member.objects.get(pk=dana.pk)
    assert (member.presence, member.channel, member.session) == (Member.Presence.AWAY, "", "")
