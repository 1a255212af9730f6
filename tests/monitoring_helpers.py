"""Asking the monitoring endpoints as a load balancer or Prometheus would: in this process
through the whole ASGI application, or from a real uvicorn in a subprocess."""

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import httpx
from asgiref.sync import async_to_sync
from prometheus_client.parser import text_string_to_metric_families
from tests.serverprocess import ServerProcess, free_tcp_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-for-the-tests-0123456789abcdef"
PROMETHEUS = ("10.1.2.3", 41000)
STRANGER = ("203.0.113.9", 41000)
LOOPBACK = ("127.0.0.1", 41000)


def ask(
    path: str, *, client=LOOPBACK, headers: dict[str, str] | None = None, method: str = "GET"
) -> httpx.Response:
    """One request to the whole application (videotermin.asgi), as the node's own address."""
    from videotermin.asgi import application

    async def request() -> httpx.Response:
        transport = httpx.ASGITransport(app=application, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.5:8000") as c:
            return await c.request(method, path, headers=headers or {})

    return async_to_sync(request)()


def scrape(**kwargs) -> dict[tuple[str, frozenset], float]:
    """/metrics with the token, as {(sample name, labels): value}."""
    response = ask("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)
    assert response.status_code == 200, response.text
    return parse(response.text)


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def closed_port() -> int:
    """A loopback port (TCP and UDP) that nothing listens on."""
    while True:
        port = free_tcp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


class AppServer(ServerProcess):
    """The application under uvicorn on a free loopback port, with these environment values."""

    name = "app"

    def __init__(self, **environment: str) -> None:
        self.environment = environment
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "AppServer":
        folder = self.make_folder()
        env = {
            "DJANGO_SETTINGS_MODULE": "videotermin.settings",
            "VIDEOTERMIN_VAR": str(folder),
            "DATABASE_URL": f"sqlite:///{folder}/app.sqlite3",
            "SITE_URL": self.url,
            "METRICS_TOKEN": TOKEN,
            **self.environment,
        }
        self.start(
            [
                # This environment on top of the tests' own.
                "/usr/bin/env",
                *(f"{name}={value}" for name, value in env.items()),
                sys.executable,
                "-m",
                "uvicorn",
                "videotermin.asgi:application",
                "--app-dir",
                str(ROOT),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--no-proxy-headers",
                "--lifespan",
                "off",
            ],
            self._answers,
            timeout=30,
        )
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=0.5) as response:
                return response.status == 200
        except OSError:
            return False

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=10)


def run_python(code: str, **environment: str) -> subprocess.CompletedProcess:
    """A fresh Python with the project's settings; its output kept."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "videotermin.settings", **environment}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
