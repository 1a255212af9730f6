"""A private redis-server for the channel layer's tests: one that may be killed, hung and started
again on the same port without touching the machine's shared Redis."""

import os
import signal
import socket

from tests.serverprocess import ServerProcess, free_tcp_port


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer(ServerProcess):
    name = "redis"

    def __enter__(self) -> "RedisServer":
        self.port = free_tcp_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = self.make_folder()
        self.start_again()
        return self

    def start_again(self) -> None:
        """Start it (again) on its port, empty, as a restarted Redis that keeps nothing is."""
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--dir", str(self.folder), "--save", "", "--appendonly", "no"]
        self.start(argv, lambda: answers(self.port))

    def kill(self) -> None:
        """kill -9: every connection to it is cut."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.log.close()

    def hang(self) -> None:
        """Stopped, not dead: its connections stay open and nothing is answered."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def go_on(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def command(self, *words: str) -> bytes:
        """One command, its raw answer (for INFO and PUBSUB)."""
        line = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(line.encode())
            chunks = [sock.recv(65536)]
            sock.settimeout(0.1)
            try:
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
            except TimeoutError:
                pass
        return b"".join(chunks)

    def publishes(self) -> int:
        """How many PUBLISH commands Redis has run."""
        for line in self.command("INFO", "commandstats").decode().splitlines():
            if line.startswith("cmdstat_publish:"):
                return int(line.split("calls=")[1].split(",")[0])
        return 0
