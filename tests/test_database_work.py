"""Database work of the sockets: on PostgreSQL several sockets' queries run at once, each on a
connection of the pool; on SQLite they queue for the process's one database thread."""

import asyncio
import threading

from django.db import connection

from videotermin.lib.database_work import on_database


def run_two_at_once(work):
    async def both():
        return await asyncio.gather(on_database(work)(), on_database(work)())

    return asyncio.run(both())


def test_two_sockets_database_work_runs_at_the_same_time_on_postgresql_and_in_turn_on_sqlite(
    transactional_db,
):
    meeting = threading.Barrier(2, timeout=5)
    running, most = [], []

    def work():
        running.append(1)
        most.append(len(running))
        if connection.vendor == "postgresql":
            meeting.wait()  # both are running: neither waits for the other to finish
        running.pop()
        return threading.current_thread().name

    threads = run_two_at_once(work)
    if connection.vendor == "postgresql":
        assert max(most) == 2
        assert all(name.startswith("database") for name in threads)
    else:
        assert max(most) == 1
        assert threads[0] == threads[1]


def test_a_sockets_task_that_asks_for_database_work_holds_no_connection_of_its_own(
    transactional_db,
):
    """Django keeps connections per asyncio context: a socket's task that touched one would
    keep a database wrapper for as long as the socket is open (thousands of them)."""
    from django.db import connections

    async def a_socket():
        await on_database(lambda: None)()
        return hasattr(connections._connections, "default")

    async def many():
        return await asyncio.gather(*(asyncio.create_task(a_socket()) for _ in range(3)))

    assert asyncio.run(many()) == [False, False, False]
