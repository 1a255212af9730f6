"""A real coturn on free loopback ports, for the tests and the benchmark.

It checks TURN REST credentials (`use-auth-secret`) exactly as in production; only loopback
peers are allowed, since both browsers of a test live on 127.0.0.1.
"""

import os
import random
import shutil
import socket

from tests.serverprocess import ServerProcess

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


class TurnServer(ServerProcess):
    """`turnserver` with a shared secret in a temporary folder; use as a context manager."""

    name = "turn"

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = _free_port()
        # Relay ports: a random range, so that runs side by side rarely compete for them.
        self.min_port = random.randrange(20000, 60000, 200)
        self.max_port = self.min_port + 199

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
        folder = self.make_folder()
        self.start(
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
            answers=lambda: _answers_stun(self.port),
        )
        return self
