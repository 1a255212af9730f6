"""A server binary run for the tests and the benchmark: started in a temporary folder, waited
for until it answers, its log kept for the failure message, and stopped at the end."""

import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """The shared lifecycle; subclasses prepare the folder and call start() in __enter__."""

    name = "server"
    process: subprocess.Popen | None = None

    def make_folder(self) -> Path:
        self.dir = tempfile.TemporaryDirectory(prefix=f"videotermin-{self.name}-")
        return Path(self.dir.name)

    def start(self, argv: list[str], answers: Callable[[], bool], timeout: float = 10) -> None:
        """Run argv with its output in the folder's log; wait until answers() holds."""
        self.log_path = Path(self.dir.name) / f"{self.name}.log"
        self.log = open(self.log_path, "w+b")  # noqa: SIM115 (kept open while it runs)
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.output()
                self.__exit__()
                raise RuntimeError(f"{self.name} did not start:\n{log}")
            time.sleep(0.05)

    def output(self) -> str:
        """What the server logged so far."""
        self.log.flush()
        return self.log_path.read_text(errors="replace")

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
