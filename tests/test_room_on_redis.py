"""The room's sockets on the channel layer across processes (lib/redislayer.py), with a private
redis-server that dies mid-call: the pages are sent to come back (1012) and nobody stays
"connected" through a socket that can no longer hear the room; a socket that opens while Redis
is away is refused at the door without writing anything; an overrunning consultation does not
end because everybody was away for that moment; and once Redis answers, the pages come back under
their sessions, in the call."""

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone
from tests.redisserver import RedisServer
from tests.test_room_consumer import TIMEOUT, about, enter, next_of, row, run, send, socket

from videotermin.appointments.models import Appointment

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_RESTART = 1012


@pytest.fixture
def redis(settings):
    with RedisServer() as server:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "videotermin.lib.redislayer.RedisChannelLayer",
                "CONFIG": {"url": server.url},
            }
        }
        yield server


async def closed_with(communicator) -> int:
    """The code the server closed the socket with."""
    while True:
        output = await communicator.receive_output(TIMEOUT)
        if output["type"] == "websocket.close":
            return output["code"]


def overrun(appointment) -> None:
    """The consultation goes on after its planned end."""
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - timedelta(minutes=appointment.duration_minutes + 5)
    )


def test_a_redis_outage_sends_every_page_back_and_they_return_to_the_call_once_it_answers(
    redis, booking, counselor
):
    from tests.personas import agree

    dana = agree(booking.citizen)
    dana.opened = dana.links.order_by("pk").first().pk
    appointment = booking.appointment

    async def scenario():
        alice, citizen = socket(appointment, user=counselor), socket(appointment, members=[dana])
        await enter(alice)
        session = (await enter(citizen))["session"]
        await send(alice, "admit", member=str(dana.public_id))
        await next_of(citizen, "member", about(dana, presence="in_call"))
        await sync_to_async(overrun)(appointment)

        redis.kill()
        assert await closed_with(alice) == CLOSE_RESTART
        assert await closed_with(citizen) == CLOSE_RESTART
        stored = await sync_to_async(row)(dana)
        assert (stored["presence"], stored["channel"]) == ("away", "")
        fresh = await sync_to_async(Appointment.objects.get)(pk=appointment.pk)
        assert fresh.is_running, "the consultation ended because everybody was sent away"

        # While Redis is away, a page that comes back is refused at the door; nothing is stored.
        early = returning(appointment, dana, session)
        connected, _ = await early.connect(TIMEOUT)
        assert not connected
        assert (await sync_to_async(row)(dana))["channel"] == ""

        redis.start_again()
        started = time.monotonic()
        while True:
            again = returning(appointment, dana, session)
            connected, _ = await again.connect(TIMEOUT)
            if connected:
                break
            assert time.monotonic() - started < 5, "the room did not come back"
            await asyncio.sleep(0.2)
        joined = await again.receive_json_from(TIMEOUT)
        me = next(entry for entry in joined["members"] if entry["id"] == str(dana.public_id))
        assert (joined["session"], me["presence"]) == (session, "in_call")
        host = socket(appointment, user=counselor)
        hosting = (await enter(host))["session"]
        # Signals pass between them again.
        candidate = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host"}
        await send(host, "signal", to=session, candidate=candidate)
        signal = await next_of(again, "signal")
        assert signal["from"] == hosting
        assert signal["candidate"]["candidate"] == candidate["candidate"]
        for communicator in (alice, citizen, again, host):
            await communicator.disconnect(timeout=TIMEOUT)
        await get_channel_layer().close()

    run(scenario)


def returning(appointment, member, session: str):
    """The member's page coming back under its session."""
    communicator = socket(appointment, members=[member])
    communicator.scope["query_string"] = f"resume={session}".encode()
    return communicator


def test_an_arrival_that_redis_cannot_announce_is_undone_and_the_page_comes_back(
    redis, booking, monkeypatch
):
    from tests.personas import agree

    from videotermin.lib.channellayer import LayerUnavailable
    from videotermin.lib.redislayer import RedisChannelLayer

    dana = agree(booking.citizen)
    dana.opened = dana.links.order_by("pk").first().pk

    async def refused(self, group, message):
        raise LayerUnavailable("Redis did not take a message")

    # Redis fails between the socket's subscription and the arrival's announcement.
    monkeypatch.setattr(RedisChannelLayer, "group_send", refused)

    async def scenario():
        citizen = socket(booking.appointment, members=[dana])
        await citizen.connect(TIMEOUT)
        code = await closed_with(citizen)
        await citizen.disconnect(timeout=TIMEOUT)
        await get_channel_layer().close()
        return code

    assert async_to_sync(scenario)() == CLOSE_RESTART
    # Nobody stays "waiting" through a socket that is gone.
    stored = row(dana)
    assert (stored["presence"], stored["channel"], stored["session"]) == ("away", "", "")
