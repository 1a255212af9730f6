"""Forwarded headers count only when a configured proxy sent them (settings.TRUSTED_PROXIES).

Anybody can send `X-Forwarded-For`: trusted blindly, it lets a client choose the address that
sign-in throttling and rate limits count. This ASGI middleware, outermost around the whole
application, takes the client's address and scheme from the headers only when the connection
comes from a trusted proxy, and removes the headers otherwise, so that nothing further in
(Django's `SECURE_PROXY_SSL_HEADER`, django-axes, the rate limits) can be misled. The server
itself must not rewrite addresses either (uvicorn `--no-proxy-headers`, docs/operations.md).
"""

import ipaddress
from collections.abc import Iterable
from typing import Any

from django.conf import settings

FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or networks ("10.0.0.5", "10.1.0.0/16") as networks; a wrong one is an error."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def is_trusted(address: str | None, trusted: list[Network]) -> bool:
    if not address or not trusted:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def forwarded_client(header: str, trusted: list[Network]) -> str | None:
    """The client as the trusted proxies saw it: the rightmost address that is not a proxy."""
    for entry in reversed([part.strip() for part in header.split(",")]):
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            return None  # a malformed chain says nothing reliable
        if not is_trusted(entry, trusted):
            return entry
    return None


class TrustedProxyMiddleware:
    """Apply X-Forwarded-For and X-Forwarded-Proto from trusted proxies; drop them from others."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = self.rewrite(scope)
        await self.app(scope, receive, send)

    @staticmethod
    def rewrite(scope: dict) -> dict:
        trusted = networks(settings.TRUSTED_PROXIES)
        headers = [(name, value) for name, value in scope.get("headers", [])]
        forwarded = {name: value for name, value in headers if name in FORWARDED}
        if not forwarded:
            return scope
        kept = [(name, value) for name, value in headers if name not in FORWARDED]
        peer = (scope.get("client") or (None, None))[0]
        scope = {**scope, "headers": kept}
        if not is_trusted(peer, trusted):
            return scope
        client = forwarded.get(b"x-forwarded-for")
        address = forwarded_client(client.decode("latin-1"), trusted) if client else None
        if address:
            scope["client"] = (address, 0)
        proto = forwarded.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
        if proto in ("http", "https"):
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto
            # Django reads the scheme from this header (SECURE_PROXY_SSL_HEADER): keep it only
            # as the trusted proxy said it.
            scope["headers"].append((b"x-forwarded-proto", proto.encode()))
        return scope


def client_address(request: Any) -> str | None:
    """The client's address for sign-in throttling: REMOTE_ADDR, which the middleware set."""
    return request.META.get("REMOTE_ADDR")
