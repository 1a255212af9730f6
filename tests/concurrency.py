"""Several people doing the same thing at the same moment, each in a thread and on a database
connection of their own (the race tests)."""

import threading

from django.db import connections


def at_once(work, people: int, armed: threading.Event) -> list:
    """Run work(i) for each of `people` in a thread of its own, all starting together; each
    result, or the exception it raised."""
    armed.set()
    start = threading.Barrier(people, timeout=10)
    results: list = [None] * people

    def person(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except Exception as error:  # noqa: BLE001 (the outcome is what is tested)
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=person, args=(i,)) for i in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
