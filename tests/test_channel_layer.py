"""The embedded channel layer keeps a slow consumer in its groups and cleans up cheaply."""

import asyncio

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
