"""A server process holds thousands of sockets: the garbage collector must not stop it for long."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest
from tests.serverprocess import free_tcp_port


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


def uvicorn_with_two_workers(tmp_path, port: int = 0, **env: str) -> subprocess.Popen:
    """`uvicorn --workers 2`, as deploy/systemd/videotermin.service starts a node."""
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "videotermin.asgi:application", "--workers", "2"]
        + ["--port", str(port or free_tcp_port()), "--lifespan", "off", "--log-level", "warning"],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_server_of_two_processes_without_redis_does_not_start_and_says_why(tmp_path):
    server = uvicorn_with_two_workers(tmp_path, REDIS_URL="")
    try:
        output, _ = server.communicate(timeout=60)
    finally:
        server.kill()
    # The two ends of a call would sit in different processes and never hear each other.
    assert "The embedded channel layer serves one process, and this server runs 2" in output
    assert "set REDIS_URL" in output


def test_a_server_of_two_processes_with_redis_starts(tmp_path):
    port = free_tcp_port()
    server = uvicorn_with_two_workers(tmp_path, port, REDIS_URL="redis://127.0.0.1:6379/14")
    try:
        deadline = time.monotonic() + 60
        while not answers(f"http://127.0.0.1:{port}/healthz"):
            assert server.poll() is None and time.monotonic() < deadline, "it did not start"
            time.sleep(0.2)
        # The second worker has loaded the application too by now, and did not stop it.
        with pytest.raises(subprocess.TimeoutExpired):
            server.wait(timeout=5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "embedded channel layer" not in output


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False
