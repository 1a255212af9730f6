"""A real HTTP server on 127.0.0.1 that receives webhooks the way an agency's system would: it
records every request (headers, body, arrival time) and answers with the status it is told,
or holds the request until it is released."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """`answer(received) -> status` decides each answer (default 200). With `hold` set, every
    request waits until release() before it is answered."""

    def __init__(self, answer: Callable[[Received], int] | None = None, hold: bool = False):
        self.answer = answer or (lambda _received: 200)
        self.received: list[Received] = []
        self.hold = hold
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    def __enter__(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received = Received(
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with receiver._arrived:
                    receiver.received.append(received)
                    receiver._arrived.notify_all()
                if receiver.hold:
                    receiver.released.wait(timeout=60)
                status = receiver.answer(received)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                # A sender killed mid-request leaves a broken pipe: that is what tests do.
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def release(self) -> None:
        self.hold = False
        self.released.set()

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        """Until `count` requests have arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.received)} of {count} webhook requests arrived in {timeout} s"
                    )
                self._arrived.wait(left)
            return list(self.received)
