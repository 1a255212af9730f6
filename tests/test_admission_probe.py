"""An admission first asks the waiting person's socket whether it is still there: a page whose node
was killed a moment ago still looks "waiting" in the database until the node's lease runs out
(calls/presence.py), and nobody whose page is gone may be let in meanwhile. The whole story, with
real nodes killed under real browsers: tests/browser/test_failover.py."""

import asyncio
import contextlib

import pytest
from tests.personas import agree
from tests.test_room_consumer import about, enter, next_of, opened, run, send, socket

from videotermin.calls import presence

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_waiting_person_whose_socket_no_longer_answers_is_not_admitted(booking, counselor):
    dana = opened(agree(booking.citizen))
    alice = socket(booking.appointment, user=counselor)
    citizen = socket(booking.appointment, members=[dana])
    refused = {}

    async def scenario():
        await enter(alice)
        await enter(citizen)
        await next_of(alice, "member", about(dana, presence="waiting"))
        # Her socket's consumer stops as in a killed process: no disconnect, nothing written.
        citizen.future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await citizen.future
        presence.stop()  # this process's count of sockets, which her consumer no longer keeps
        await send(alice, "admit", member=str(dana.public_id))
        refused.update(await next_of(alice, "error"))
        await alice.disconnect()

    run(scenario)

    assert (refused["code"], refused["ref"]) == ("not_allowed", "admit")
    dana.refresh_from_db()
    assert (dana.presence, dana.admitted_at) == ("waiting", None)
    assert dana.channel, "her row still names the socket: only the probe knew better"


def test_a_waiting_person_whose_socket_answers_is_admitted(booking, counselor):
    dana = opened(agree(booking.citizen))
    alice = socket(booking.appointment, user=counselor)
    citizen = socket(booking.appointment, members=[dana])

    async def scenario():
        await enter(alice)
        await enter(citizen)
        await next_of(alice, "member", about(dana, presence="waiting"))
        await send(alice, "admit", member=str(dana.public_id))
        await next_of(citizen, "member", about(dana, presence="in_call"))
        await alice.disconnect()
        await citizen.disconnect()

    run(scenario)

    dana.refresh_from_db()
    assert dana.admitted_at is not None
