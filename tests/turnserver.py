"""A real coturn on free loopback ports, for the tests and the benchmark.

It checks TURN REST credentials (`use-auth-secret`) exactly as in production; only loopback
peers are allowed, since both browsers of a test live on 127.0.0.1.
"""

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REALM = "videotermin.test"


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    while True:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _answers_stun(port: int) -> bool:
    """Send a STUN Binding request; True when a Binding success response comes back."""
    transaction = os.urandom(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            answer = sock.recv(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == transaction


class TurnServer:
    """`turnserver` with a shared secret in a temporary folder; use as a context manager."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = _free_port()
        # Relay ports: a random range, so that runs side by side rarely compete for them.
        self.min_port = random.randrange(20000, 60000, 200)
        self.max_port = self.min_port + 199
        self.process: subprocess.Popen | None = None

    @property
    def urls(self) -> list[str]:
        return [
            f"turn:127.0.0.1:{self.port}?transport=udp",
            f"turn:127.0.0.1:{self.port}?transport=tcp",
        ]

    def __enter__(self) -> "TurnServer":
        binary = shutil.which("turnserver")
        if binary is None:
            raise RuntimeError(
                "turnserver (Debian package coturn) is not installed: run `make test`, "
                "which installs it, or `apt-get install -y coturn`."
            )
        self.dir = tempfile.TemporaryDirectory(prefix="videotermin-turn-")
        folder = Path(self.dir.name)
        self.log = open(folder / "turn.log", "w+b")  # noqa: SIM115 (kept open while it runs)
        self.process = subprocess.Popen(
            [
                binary,
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                f"--listening-port={self.port}",
                f"--min-port={self.min_port}",
                f"--max-port={self.max_port}",
                "--use-auth-secret",
                f"--static-auth-secret={self.secret}",
                f"--realm={REALM}",
                "--fingerprint",
                "--allow-loopback-peers",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                f"--userdb={folder / 'turndb'}",
                f"--pidfile={folder / 'turn.pid'}",
                "--log-file=stdout",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while not _answers_stun(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.output()
                self.__exit__()
                raise RuntimeError(f"turnserver did not start:\n{log}")
        return self

    def output(self) -> str:
        """What coturn logged so far."""
        self.log.flush()
        return (Path(self.dir.name) / "turn.log").read_text(errors="replace")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.dir.cleanup()
