"""A server process holds thousands of sockets: the garbage collector must not stop it for long."""

import json
import os
import subprocess
import sys


def test_a_server_process_hides_what_it_loaded_from_the_collector_and_collects_all_rarely(
    tmp_path,
):
    # A process of its own: importing the application is what a uvicorn worker does.
    report = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, json, videotermin.asgi;"
            "print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))",
        ],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (young, middle, full), frozen = json.loads(report.stdout.strip().splitlines()[-1])
    # Django, Channels and the project's own modules: about a hundred thousand objects
    # that a full collection no longer looks at.
    assert frozen > 50_000
    # Young generations as Python has them; a full collection a hundred times rarer.
    assert (young, middle) == (700, 10)
    assert full >= 1000
