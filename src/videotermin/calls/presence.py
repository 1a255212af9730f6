"""Presence with a lease: a member is connected only while the process holding the socket lives.

Each application process has an id of its own (`NODE`) and renews its lease (`calls.Node`)
every RENEW seconds while it holds room sockets; every such process also looks for members
whose process has not renewed for LEASE and takes them out of the waiting room and the call
(`services.expire`), as a closed socket would. So a node that is killed, loses power or is cut
off leaves no ghost: within LEASE + RENEW its members are shown as gone and cannot be admitted.
The cost is one write and one read per process every few seconds, none per socket or message.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from django.db import DatabaseError
from django.utils import timezone

from videotermin.calls.models import Node
from videotermin.lib.channellayer import LayerUnavailable
from videotermin.lib.database_work import on_database

logger = logging.getLogger(__name__)

NODE = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
RENEW = 5.0
LEASE = timedelta(seconds=20)
# Rows of processes gone for this long are deleted.
FORGET = timedelta(hours=1)

_task: asyncio.Task | None = None
_first: asyncio.Future = None  # type: ignore[assignment]
_sockets = 0


def renew(node: str = NODE, now: datetime | None = None) -> None:
    Node.objects.update_or_create(prefix=node, defaults={"seen_at": now or timezone.now()})


def alive(node: str, now: datetime | None = None) -> bool:
    """Whether the process holding a socket still renews its lease."""
    now = now or timezone.now()
    return Node.objects.filter(prefix=node, seen_at__gte=now - LEASE).exists()


def sweep(now: datetime | None = None) -> int:
    """Take out the members of every process whose lease ran out; how many there were."""
    from videotermin.appointments.models import Member
    from videotermin.calls import services

    now = now or timezone.now()
    dead = list(Node.objects.filter(seen_at__lt=now - LEASE).values_list("prefix", flat=True))
    if not dead:
        return 0
    members = Member.objects.filter(node__in=dead).exclude(channel="")
    count = 0
    for member in members:
        if services.expire(member, node=member.node):
            count += 1
    if count:
        logger.info(
            "Presence: %d members of %d stopped processes are no longer connected", count, len(dead)
        )
    Node.objects.filter(seen_at__lt=now - FORGET).delete()
    return count


def beat() -> None:
    renew()
    sweep()


async def _keep(first: asyncio.Future) -> None:
    with contextlib.suppress(DatabaseError):
        await first  # failed: the next beat renews
    while True:
        await asyncio.sleep(RENEW)
        try:
            await on_database(beat)()
        except DatabaseError:
            # The database is away: the lease cannot be renewed, nor anyone's taken; both
            # resume when it is back.
            logger.warning("Presence: the lease could not be renewed", exc_info=True)
        except LayerUnavailable:
            # Renewed, but a member of a stopped process could not be announced as gone (Redis
            # is away); every page reads its room afresh when it comes back.
            logger.warning("Presence: a member's end could not be announced", exc_info=True)


async def start() -> None:
    """A room socket arrived: renew this process's lease from now on, while it holds any. The
    renewing task is set before anything is awaited, so sockets arriving together share it."""
    global _task, _first, _sockets
    _sockets += 1
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _task.get_loop() is not loop:
        _first = loop.create_task(on_database(renew)())
        _task = loop.create_task(_keep(_first))
    # The lease is there before the socket's member is stored as held by this process.
    try:
        await asyncio.shield(_first)
    except DatabaseError:
        pass  # the database is away: the socket's own arrival fails too; the loop renews later
    except BaseException:
        stop()  # this socket does not count: it is gone
        raise


def stop() -> None:
    """A room socket closed; with the last one the process stops renewing (its lease runs out,
    which is harmless: it holds nobody)."""
    global _task, _sockets
    _sockets = max(0, _sockets - 1)
    if _sockets == 0 and _task is not None:
        _task.cancel()
        _task = None
