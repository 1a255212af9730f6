"""The embedded channel layer keeps a slow consumer in its groups and cleans up cheaply."""

import asyncio
import contextvars
import threading
from unittest import mock

import pytest
from asgiref.sync import async_to_sync

from videotermin.lib.channellayer import LocalChannelLayer


def test_a_consumer_whose_message_expired_still_hears_its_group_afterwards():
    async def scenario():
        layer = LocalChannelLayer(expiry=0.05)
        channel = await layer.new_channel()
        await layer.group_add("room.1", channel)
        await layer.group_send("room.1", {"type": "first"})
        await asyncio.sleep(0.1)  # the consumer was busy: the first message expires
        layer._cleaned = 0.0
        await layer.group_send("room.1", {"type": "second"})
        return await asyncio.wait_for(layer.receive(channel), 1)

    assert async_to_sync(scenario)()["type"] == "second"


def test_expired_messages_are_looked_for_at_most_once_a_second():
    async def scenario():
        layer = LocalChannelLayer()
        channels = [await layer.new_channel() for _ in range(50)]
        for channel in channels:
            await layer.group_add("room.1", channel)
        for _ in range(200):
            await layer.group_send("room.1", {"type": "x"})
        return layer.cleanings

    assert async_to_sync(scenario)() <= 2


def test_a_receiver_waiting_on_an_empty_channel_gets_what_is_sent_after_a_clean():
    async def scenario():
        layer = LocalChannelLayer()
        channel = await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.01)
        layer._cleaned = 0.0
        layer._clean_expired()
        await layer.send(channel, {"type": "hello"})
        return await asyncio.wait_for(waiting, 1)

    assert async_to_sync(scenario)()["type"] == "hello"


def test_a_listening_channel_keeps_its_queue_from_one_message_to_the_next():
    async def scenario():
        layer = LocalChannelLayer()
        channel = await layer.new_channel()
        queues = []
        for n in range(3):
            waiting = asyncio.ensure_future(layer.receive(channel))
            await asyncio.sleep(0)
            queues.append(layer.channels[channel])
            await layer.send(channel, {"type": "x", "n": n})
            await asyncio.wait_for(waiting, 1)
        return queues

    first, *others = async_to_sync(scenario)()
    assert all(queue is first for queue in others)


def test_the_channel_of_a_consumer_that_is_gone_is_forgotten_at_the_next_cleaning():
    async def scenario():
        layer = LocalChannelLayer()
        gone, listening = await layer.new_channel(), await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(listening))
        stopped = asyncio.ensure_future(layer.receive(gone))
        await asyncio.sleep(0)
        stopped.cancel()
        await asyncio.gather(stopped, return_exceptions=True)
        layer._cleaned = 0.0
        layer._clean_expired()
        kept = set(layer.channels)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        return gone, listening, kept

    gone, listening, kept = async_to_sync(scenario)()
    assert listening in kept
    assert gone not in kept


def test_a_full_channel_misses_a_group_message_and_the_others_get_it():
    async def scenario():
        layer = LocalChannelLayer(capacity=1)
        full, other = await layer.new_channel(), await layer.new_channel()
        for channel in (full, other):
            await layer.group_add("room.1", channel)
        await layer.send(full, {"type": "waiting"})
        await layer.group_send("room.1", {"type": "member"})
        return [(await layer.receive(full))["type"], (await layer.receive(other))["type"]]

    assert async_to_sync(scenario)() == ["waiting", "member"]


@pytest.mark.django_db(transaction=True)
def test_a_socket_s_publish_is_handed_to_its_event_loop_without_the_database_thread_waiting():
    """Every socket of a process waits for the one database thread: it must not wait in turn
    for the event loop to deliver what a call published."""
    from django.db import transaction

    from videotermin.lib import events

    async def scenario():
        layer = LocalChannelLayer()
        channel = await layer.new_channel()
        await layer.group_add("room.1", channel)
        serving = events.serving_loop.set(asyncio.get_running_loop())

        def call_on_the_database_thread():
            with transaction.atomic():
                events.publish("room.1", "room.member", op="update")
                events.send_to(channel, "room.probe", reply="x")

        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(call_on_the_database_thread,))
        with mock.patch.object(events, "get_channel_layer", return_value=layer):
            thread.start()
            thread.join(5)  # the event loop is blocked meanwhile
            finished = not thread.is_alive()
            received = [await asyncio.wait_for(layer.receive(channel), 1) for _ in range(2)]
        events.serving_loop.reset(serving)
        return finished, [message["type"] for message in received]

    assert async_to_sync(scenario)() == (True, ["room.member", "room.probe"])
