"""Several worker processes, one set of numbers: with PROMETHEUS_MULTIPROC_DIR every process
writes its counts into that folder, and a scrape of any of them adds them all up."""

import tempfile

from tests.monitoring_helpers import TOKEN, AppServer, parse, run_python, value

COUNT = """
import os
from videotermin.monitoring import metrics
for _ in range({admissions}):
    metrics.admitted()
metrics.join_failed("not_open")
metrics.sockets_open.labels("room").inc({sockets})
print(os.getpid())
"""


def test_a_scrape_adds_up_the_counts_of_every_process_writing_to_the_folder():
    with tempfile.TemporaryDirectory(prefix="videotermin-metrics-") as folder:
        # Two processes count, each its own admissions, and end.
        for admissions, sockets in ((3, 2), (4, 5)):
            run_python(
                COUNT.format(admissions=admissions, sockets=sockets),
                PROMETHEUS_MULTIPROC_DIR=folder,
            )
        # A third, the application itself, is scraped.
        with AppServer(PROMETHEUS_MULTIPROC_DIR=folder) as server:
            response = server.get("/metrics", Authorization=f"Bearer {TOKEN}")
            assert response.status_code == 200
            samples = parse(response.text)
    assert value(samples, "videotermin_admissions_total") == 7
    assert value(samples, "videotermin_join_failures_total", cause="not_open") == 2
    # Open sockets are counted only while their process lives: the two are gone.
    assert value(samples, "videotermin_sockets_open", kind="room") == 0


def test_without_the_folder_a_scrape_shows_its_own_process_only():
    with AppServer() as server:
        samples = parse(server.get("/metrics", Authorization=f"Bearer {TOKEN}").text)
    assert value(samples, "videotermin_admissions_total") == 0
    assert ("videotermin_sockets_open", frozenset({("kind", "room")})) in samples
