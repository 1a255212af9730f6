"""A consumer waits for its page and its channel with one task each for its whole life: one
message at a time, ended by the first failure, and almost nothing left alive per message."""

import asyncio
import functools
import gc

import pytest
from asgiref.sync import async_to_sync
from channels.exceptions import StopConsumer

from videotermin.lib.channellayer import LocalChannelLayer
from videotermin.lib.sockets import dispatch_each, young_collections


def run(scenario):
    return async_to_sync(scenario)()


def test_messages_of_both_sources_are_dispatched_one_at_a_time_and_all_of_them():
    async def scenario():
        page, channel = asyncio.Queue(), asyncio.Queue()
        seen, busy = [], []

        async def dispatch(message):
            busy.append(message)
            assert len(busy) == 1, "two messages were dispatched at once"
            await asyncio.sleep(0.001)
            seen.append(message["n"])
            busy.pop()
            if len(seen) == 40:
                raise StopConsumer

        for n in range(20):
            page.put_nowait({"n": f"page {n}"})
            channel.put_nowait({"n": f"channel {n}"})
        with pytest.raises(StopConsumer):
            await asyncio.wait_for(dispatch_each([page.get, channel.get], dispatch), 5)
        return seen

    seen = run(scenario)
    pages, channels = [f"page {n}" for n in range(20)], [f"channel {n}" for n in range(20)]
    assert sorted(seen) == sorted(pages + channels)
    # Each source's messages keep their order.
    assert [s for s in seen if s.startswith("page")] == pages
    assert [s for s in seen if s.startswith("channel")] == channels


@pytest.mark.parametrize("closing", ["page", "channel"])
def test_the_socket_closing_on_either_source_ends_the_waiting_on_the_other(closing):
    async def scenario():
        page, channel = asyncio.Queue(), asyncio.Queue()
        waiting = []

        async def listen(queue):
            waiting.append(asyncio.current_task())
            return await queue.get()

        async def dispatch(message):
            raise StopConsumer

        (page if closing == "page" else channel).put_nowait({"type": "close"})
        with pytest.raises(StopConsumer):
            await asyncio.wait_for(
                dispatch_each(
                    [functools.partial(listen, page), functools.partial(listen, channel)], dispatch
                ),
                5,
            )
        await asyncio.sleep(0)
        return [task.done() for task in waiting]

    assert all(run(scenario))


def test_a_failure_handling_a_channel_message_is_raised_to_the_consumer():
    async def scenario():
        page, channel = asyncio.Queue(), asyncio.Queue()

        async def dispatch(message):
            raise RuntimeError(message["why"])

        channel.put_nowait({"why": "a bug"})
        with pytest.raises(RuntimeError, match="a bug"):
            await asyncio.wait_for(dispatch_each([page.get, channel.get], dispatch), 5)

    run(scenario)


def test_a_relayed_message_leaves_only_the_next_wait_alive_in_the_receiving_socket():
    """What a socket allocates per message and keeps until its next one is what Python's young
    collections look through: with thousands of sockets in calls, Channels' own way (a task, a
    context, a waiter and a queue per message, 28 objects) made each of them take 50-120 ms."""
    sockets = 200

    async def scenario():
        layer = LocalChannelLayer()
        names = [await layer.new_channel() for _ in range(sockets)]
        pages = [asyncio.Queue() for _ in range(sockets)]
        dispatched = []

        async def dispatch(message):
            dispatched.append(message["n"])

        consumers = [
            asyncio.ensure_future(
                dispatch_each([page.get, functools.partial(layer.receive, name)], dispatch)
            )
            for page, name in zip(pages, names, strict=True)
        ]
        sample = {"type": "relay", "network": {"rtt": 80, "loss": [0.1]}}
        for name in names:
            await layer.send(name, {**sample, "n": 0})
        await asyncio.sleep(0.05)
        gc.collect()
        gc.disable()
        try:
            for name in names:
                await layer.send(
                    name, {"type": "relay", "n": 1, "network": {"rtt": 80, "loss": [0.1]}}
                )
            await asyncio.sleep(0.05)
            young = len(gc.get_objects(generation=0))
        finally:
            gc.enable()
            for consumer in consumers:
                consumer.cancel()
            await asyncio.gather(*consumers, return_exceptions=True)
        return young, dispatched

    young, dispatched = run(scenario)
    assert dispatched.count(1) == sockets
    assert young / sockets < 8


def test_while_sockets_are_open_the_young_generations_are_collected_by_the_clock():
    young = []

    def counting(phase, info):
        if phase == "stop" and info["generation"] == 1:
            young.append(info)

    async def scenario():
        collections = young_collections()
        collections.opened()
        collections.opened()
        await asyncio.sleep(0.55)
        collections.closed()
        await asyncio.sleep(0.25)
        while_open = len(young)
        collections.closed()
        await asyncio.sleep(0.35)
        return while_open, len(young), collections.timer

    gc.callbacks.append(counting)
    try:
        while_open, in_all, timer = run(scenario)
    finally:
        gc.callbacks.remove(counting)
    # Five in the first half second, more while one socket stays, none once all are closed.
    assert while_open >= 6
    assert in_all - while_open <= 1
    assert timer is None
