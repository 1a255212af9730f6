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
