"""Database work from the event loop of the sockets (consumers, the presence lease)."""

import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections

_threads: ThreadPoolExecutor | None = None


def on_database(function: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    """`function`, which works on the database, made awaitable for the consumers.

    On PostgreSQL each call runs in a pool of threads as large as the connection pool, with a
    connection borrowed from it, so that one socket's queries (and its publishes after commit)
    never wait behind another's; the services lock the rows they change, as they must across
    nodes anyway. On SQLite every call runs on the process's one database thread with its one
    kept connection: its writes are serial in any case, and waiting in a queue is cheaper than
    waiting for the file's lock. A consumer awaits its calls one after the other, so a
    socket's own work stays in order either way.
    """
    global _threads
    # From the settings, not `connection.vendor`: Django's connections are kept per asyncio
    # context, so asking one here would give every socket's task a database wrapper of its own.
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return database_sync_to_async(function)
    if _threads is None:
        size = settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("max_size", 4)
        _threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="database")
    return database_sync_to_async(_giving_back(function), thread_sensitive=False, executor=_threads)


def _giving_back(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function, its thread's connection given back to the pool as soon as it returns: a
    thread holds none between calls, whatever happens after (Channels closes only connections
    it can still ask whether they are usable)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return run
