"""Count WebSockets around the consumers, from what goes out to the browser: open sockets by
kind, and the room connections that fail before the room is shown (refused with 4403, or
closed by a server error before the first message)."""

from typing import Any

from videotermin.monitoring import metrics

CLOSE_FORBIDDEN = 4403
CLOSE_SERVER_ERROR = 1011

# The socket's kind by its path (asgi.py's websocket_urlpatterns).
KINDS = (("/ws/room/", "room"), ("/ws/staff/", "day_view"))


def kind_of(path: str) -> str | None:
    return next((kind for prefix, kind in KINDS if path.startswith(prefix)), None)


class SocketMetrics:
    """ASGI middleware for the websocket side: what it sees costs no parsing of a frame."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = kind_of(scope.get("path", "")) if scope["type"] == "websocket" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        accepted = spoke = False

        async def watched_send(message: dict[str, Any]) -> None:
            nonlocal accepted, spoke
            event = message["type"]
            if event == "websocket.send":
                spoke = True
            elif event == "websocket.accept" and not accepted:
                accepted = True
                metrics.sockets_open.labels(kind).inc()
                metrics.sockets_opened.labels(kind).inc()
            elif event == "websocket.close":
                self.closing(kind, message.get("code", 1000), accepted, spoke)
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            if accepted:
                metrics.sockets_open.labels(kind).dec()

    @staticmethod
    def closing(kind: str, code: int, accepted: bool, spoke: bool) -> None:
        if code == CLOSE_SERVER_ERROR:
            if kind == "room" and not spoke:
                metrics.join_failed("server_error")
            else:
                metrics.refused("server_error")
        elif code == CLOSE_FORBIDDEN and kind == "room" and not accepted:
            metrics.join_failed("forbidden")
