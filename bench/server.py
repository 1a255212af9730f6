"""A real videotermin server for benchmarks: its own SQLite database, uvicorn in a subprocess."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = "videotermin.asgi:application"
# The same application, counting its database queries (bench/queries.py), and where it tells.
COUNTING_APP = "bench.queries:application"
QUERIES_PATH = "/__bench__/queries"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchServer:
    """Start migrate + uvicorn on a fresh database; this process shares the database for setup."""

    def __enter__(self) -> "BenchServer":
        self.dir = tempfile.TemporaryDirectory(prefix="videotermin-bench-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "videotermin.settings",
            "VIDEOTERMIN_VAR": self.dir.name,
            "DATABASE_URL": f"sqlite:///{self.dir.name}/bench.sqlite3",
            "SITE_URL": self.url,
            "PORT": str(self.port),
            "EMAIL_FILE_PATH": f"{self.dir.name}/mail",
            # Every simulated browser opens its link from 127.0.0.1: no per-address limit.
            "VIDEOTERMIN_LINK_LOOKUP_LIMIT": "100000/minute",
            "VIDEOTERMIN_LINK_LOOKUP_GLOBAL_LIMIT": "100000/minute",
        }
        os.environ.update({k: v for k, v in self.env.items() if k != "PATH"})
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"],
            env=self.env,
            check=True,
        )
        self.process = self._uvicorn(self.env, self.port)
        import django

        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop
        django.setup()
        from django.conf import settings

        # Django set up before this (an import of videotermin.asgi, say) would have read another
        # database: the bench must never write into a developer's or the demo's.
        if not str(settings.DATABASES["default"]["NAME"]).startswith(self.dir.name):
            self.__exit__()
            raise RuntimeError("Django was set up before the bench chose its database")
        return self

    def _uvicorn(self, env: dict[str, str], port: int, app: str = APP) -> subprocess.Popen:
        return start_uvicorn(env, port, app)

    @contextmanager
    def sibling(self, app: str = APP, **settings: str) -> Iterator[tuple[str, subprocess.Popen]]:
        """A second server on the same database with other settings (and, for counting its
        queries, bench.queries' wrapper of the application): its address and process."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**self.env, "SITE_URL": url, "PORT": str(port), **settings}
        process = self._uvicorn(env, port, app)
        try:
            yield url, process
        finally:
            process.terminate()
            process.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.dir.cleanup()


def start_uvicorn(
    env: dict[str, str], port: int, app: str = APP, probe: str = "/"
) -> subprocess.Popen:
    """uvicorn serving the application (or the bench's wrapper of it) once `probe` answers."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--app-dir",
            str(ROOT),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=1)  # noqa: S310
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the benchmark server did not start")


def run_alone(run: Callable[[dict, dict], None], name: str, units: dict[str, str]) -> int:
    """One part of the bench on a server of its own (`python -m bench.<part>`): its metrics as
    `metric: value unit` lines, then its details; nothing is written."""
    results: dict = {}
    details: dict = {}
    with BenchServer():
        run(results, details)
    for metric, value in results.items():
        print(f"{metric}: {value} {units[metric]}")
    print(details[name])
    return 0
