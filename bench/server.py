"""A real videotermin server for benchmarks: its own SQLite database, uvicorn in a subprocess."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
        }
        os.environ.update({k: v for k, v in self.env.items() if k != "PATH"})
        python = sys.executable
        subprocess.run(
            [python, str(ROOT / "manage.py"), "migrate", "-v", "0"], env=self.env, check=True
        )
        self.process = subprocess.Popen(
            [
                python,
                "-m",
                "uvicorn",
                "videotermin.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=self.env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1)  # noqa: S310 (loopback)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the benchmark server did not start")
        import django

        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop
        django.setup()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.dir.cleanup()
