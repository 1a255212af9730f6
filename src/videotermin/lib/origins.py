"""Only pages of this site may open its WebSockets: the Origin must equal SITE_URL's, whole."""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str, *, bare: bool = False) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an address, the default port made explicit; None if it has none.
    A bare origin (the header) is only that: no user, path, query or fragment."""
    try:
        parts = urlsplit(url.strip())
        if bare and (parts.username is not None or any(parts[2:])):
            return None
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is no number, or out of range
        return None
    if scheme not in DEFAULT_PORTS or not host or port is None:
        return None
    return scheme, host, port


def allowed_origins() -> set[tuple[str, str, int]]:
    """Read at every connection: the site's address may change while the process runs (tests)."""
    urls = [settings.SITE_URL, *getattr(settings, "WEBSOCKET_ALLOWED_ORIGINS", [])]
    return {origin for origin in map(origin_of, urls) if origin is not None}


class SiteOriginValidator:
    """Refuses, before anything else runs, a WebSocket whose Origin is not the site's own: a
    scheme, host or port of its own is another site (a page there must not act for the user)."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            header = dict(scope.get("headers", [])).get(b"origin", b"")
            origin = origin_of(header.decode("latin-1"), bare=True)
            if origin is None or origin not in allowed_origins():
                denier = WebsocketDenier()
                return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
