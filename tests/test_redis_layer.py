"""The channel layer across processes (lib/redislayer.py), on a private redis-server: one PUBLISH
per message that leaves a process and none for one that stays in it; a group message reaches
every member once; and when Redis goes away, hangs or comes back empty, nobody is left believing
they hear everything: every socket of a process that may have missed a message is told, and the
layer is whole again by itself once Redis answers."""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from tests.monitoring_helpers import scrape, value
from tests.redisserver import RedisServer

from videotermin.lib import redislayer
from videotermin.lib.channellayer import LayerUnavailable
from videotermin.lib.redislayer import RedisChannelLayer


@pytest.fixture
def redis():
    with RedisServer() as server:
        yield server


def in_two_processes(redis: RedisServer, scenario, **config):
    """`scenario(first, second)` with the layers two server processes hold on one Redis, both
    closed however it ends."""

    async def run():
        first, second = (RedisChannelLayer(url=redis.url, **config) for _ in range(2))
        try:
            return await scenario(first, second)
        finally:
            await first.close()
            await second.close()

    return async_to_sync(run)()


async def within(awaitable, seconds: float = 2):
    return await asyncio.wait_for(awaitable, seconds)


async def once_it_answers(*layers: RedisChannelLayer) -> list[str]:
    """A new channel of each layer, as soon as all are subscribed again (within 5 s)."""
    back = time.monotonic()
    while True:
        try:
            return [await layer.new_channel() for layer in layers]
        except LayerUnavailable:
            assert time.monotonic() - back < 5, "the layer did not come back"
            await asyncio.sleep(0.1)


async def nothing_for(layer: RedisChannelLayer, channel: str, seconds: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(layer.receive(channel), seconds)
    except TimeoutError:
        return True
    return False


def test_a_message_to_another_process_is_one_publish_and_one_in_the_same_process_is_none(redis):
    async def scenario(first, second):
        here, there = await first.new_channel(), await second.new_channel()
        before = redis.publishes()
        await first.send(there, {"type": "signal", "n": 1})
        assert (await within(second.receive(there)))["n"] == 1
        assert redis.publishes() - before == 1
        await first.send(here, {"type": "signal", "n": 2})
        assert (await within(first.receive(here)))["n"] == 2
        assert redis.publishes() - before == 1

    in_two_processes(redis, scenario)


def test_a_group_message_reaches_every_member_once_in_every_process_with_one_publish(redis):
    async def scenario(first, second):
        members = [
            (first, await first.new_channel()),
            (first, await first.new_channel()),
            (second, await second.new_channel()),
        ]
        for layer, channel in members:
            await layer.group_add("room.1", channel)
        before = redis.publishes()
        await first.group_send("room.1", {"type": "room.member", "n": 1})
        for layer, channel in members:
            assert (await within(layer.receive(channel)))["n"] == 1
        for layer, channel in members:
            assert await nothing_for(layer, channel), "a member heard it twice"
        assert redis.publishes() - before == 1

    in_two_processes(redis, scenario)


def test_every_member_gets_a_copy_of_its_own(redis):
    async def scenario(first, second):
        a, b = await second.new_channel(), await second.new_channel()
        await second.group_add("room.1", a)
        await second.group_add("room.1", b)
        await first.group_send("room.1", {"type": "room.member", "members": [1]})
        got_a, got_b = await within(second.receive(a)), await within(second.receive(b))
        got_a["members"].append(2)
        assert got_b["members"] == [1]

    in_two_processes(redis, scenario)


def test_a_process_that_left_a_group_hears_it_no_more(redis):
    async def scenario(first, second):
        channel = await second.new_channel()
        await second.group_add("room.1", channel)
        await second.group_discard("room.1", channel)
        await first.group_send("room.1", {"type": "room.member"})
        assert await nothing_for(second, channel)
        assert second.subscriptions() == [second.inbox]

    in_two_processes(redis, scenario)


def test_a_page_reloaded_in_the_same_process_keeps_hearing_its_room(redis):
    async def scenario(first, second):
        old, new = await second.new_channel(), await second.new_channel()
        await second.group_add("room.1", old)
        # The old socket closes while the new one joins: the process stays subscribed.
        await asyncio.gather(second.group_add("room.1", new), second.group_discard("room.1", old))
        await first.group_send("room.1", {"type": "room.member", "n": 1})
        assert (await within(second.receive(new)))["n"] == 1

    in_two_processes(redis, scenario)


def test_a_message_for_a_connection_that_is_behind_is_dropped_and_counted(redis, db):
    def dropped() -> float:
        return value(scrape(), "videotermin_relays_dropped_total", type="x")

    async def scenario(first, second):
        slow = await second.new_channel()
        for n in range(3):
            await first.send(slow, {"type": "x", "n": n})
        await asyncio.sleep(0.3)
        return [(await within(second.receive(slow)))["n"] for _ in range(2)]

    before = dropped()
    assert in_two_processes(redis, scenario, capacity=2) == [0, 1]
    assert dropped() - before == 1


def test_when_redis_dies_every_socket_is_told_and_nothing_waits_long_for_it(redis):
    async def scenario(first, second):
        listening, there = await first.new_channel(), await second.new_channel()
        await first.group_add("room.1", listening)
        redis.kill()
        # The socket hears that messages for it may be lost.
        assert (await within(first.receive(listening), 3))["type"] == "layer.lost"
        # A message that cannot go says so at once, as does a socket that wants to listen.
        started = time.monotonic()
        with pytest.raises(LayerUnavailable):
            await first.send(there, {"type": "signal"})
        with pytest.raises(LayerUnavailable):
            await first.group_send("room.1", {"type": "room.member"})
        with pytest.raises(LayerUnavailable):
            await first.new_channel()
        assert time.monotonic() - started < 3

    in_two_processes(redis, scenario)


def test_the_layer_is_whole_again_by_itself_once_a_restarted_redis_answers(redis):
    async def scenario(first, second):
        member = await second.new_channel()
        await second.group_add("room.1", member)
        redis.kill()
        assert (await within(second.receive(member), 3))["type"] == "layer.lost"
        redis.start_again()  # empty: it knows no subscription of before
        fresh, _ = await once_it_answers(first, second)
        # The group of before and the process's own channel are subscribed again.
        await first.group_send("room.1", {"type": "room.member", "n": 1})
        assert (await within(second.receive(member)))["n"] == 1
        await second.send(fresh, {"type": "signal", "n": 2})
        assert (await within(first.receive(fresh)))["n"] == 2

    in_two_processes(redis, scenario)


def test_a_redis_that_hangs_is_given_up_and_taken_back_when_it_answers(redis, monkeypatch):
    monkeypatch.setattr(redislayer, "QUIET_SECONDS", 0.5)
    monkeypatch.setattr(redislayer, "ANSWER_SECONDS", 0.5)

    async def scenario(first, second):
        member = await second.new_channel()
        await second.group_add("room.1", member)
        redis.hang()
        try:
            # Its connections stay open, but the ping after the silence is not answered.
            lost = await within(second.receive(member), 4)
            assert lost["type"] == "layer.lost"
            with pytest.raises(LayerUnavailable):
                await first.send(member, {"type": "signal"})
        finally:
            redis.go_on()
        await once_it_answers(second)
        await first.group_send("room.1", {"type": "room.member", "n": 1})
        assert (await within(second.receive(member)))["n"] == 1

    in_two_processes(redis, scenario)


def test_the_readiness_check_goes_through_redis(redis, settings):
    from videotermin.monitoring import checks

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "videotermin.lib.redislayer.RedisChannelLayer",
            "CONFIG": {"url": redis.url},
        }
    }

    async def scenario():
        before = redis.publishes()
        await checks.channel_layer()
        return redis.publishes() - before

    assert async_to_sync(scenario)() == 1
