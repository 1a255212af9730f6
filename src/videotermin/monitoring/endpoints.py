"""/healthz, /readyz and /metrics, answered in front of Django (docs/operations.md, "Monitoring").

Probes come from load balancers and Prometheus, which ask a node by its own address over plain
http: Django's middleware would refuse the host name (ALLOWED_HOSTS), redirect to https, open a
session, negotiate a language and check CSRF, none of which these answers need. So they are
answered here, inside lib/proxies.py (whose client address /metrics checks) and before Django.
Leaving out the https redirect is safe: the answers hold no personal data and set no cookie,
and a redirect would not protect the metrics' bearer token anyway, which the client has sent
with its first request.
"""

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

import structlog
from django.conf import settings
from django.db import connections
from prometheus_client.exposition import choose_encoder

from videotermin.lib.proxies import is_trusted, networks
from videotermin.monitoring import checks, metrics

log = structlog.get_logger(__name__)

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# The scrape's database questions run here, apart from Django's own thread.
_scrapes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="metrics")


async def respond(
    scope: Scope,
    send: Send,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def as_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


async def healthz(scope: Scope, send: Send) -> None:
    """The process answers: nothing else is asked."""
    await respond(scope, send, 200, as_json({"status": "ok"}))


async def readyz(scope: Scope, send: Send) -> None:
    """200 when every check passes, else 503 naming the failed ones; each check with its time."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    scope_name = "node" if query.get("scope") == ["node"] else "all"
    results = await checks.run(scope_name)
    failed = [result.name for result in results if not result.ok]
    body: dict[str, Any] = {"status": "failed" if failed else "ok"}
    if failed:
        body["failed"] = failed
    body["checks"] = [result.as_json() for result in results]
    await respond(scope, send, 503 if failed else 200, as_json(body))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def metrics_refusal(scope: Scope) -> tuple[int, bytes] | None:
    """Why this request may not read the metrics, or None. With both METRICS_ALLOWED and
    METRICS_TOKEN set, both must be satisfied; with neither, nobody reads them."""
    allowed = networks(settings.METRICS_ALLOWED)
    token = settings.METRICS_TOKEN
    if not allowed and not token:
        return 403, b"Metrics are off: set METRICS_TOKEN or METRICS_ALLOWED.\n"
    if allowed:
        # The address lib/proxies.py settled on: a forwarded one only from TRUSTED_PROXIES.
        client = (scope.get("client") or (None, None))[0]
        if not is_trusted(client, allowed):
            return 403, b"Not from this address.\n"
    if token:
        scheme, _, given = _header(scope, b"authorization").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return 401, b"A bearer token is needed.\n"
    return None


def _facts() -> metrics.DatabaseFacts:
    try:
        return metrics.database_facts()
    finally:
        connections.close_all()


def _exposition(facts: metrics.DatabaseFacts | None, accept: str) -> tuple[bytes, str]:
    encoder, content_type = choose_encoder(accept)
    return encoder(metrics.registry(facts)), content_type


async def metrics_view(scope: Scope, send: Send) -> None:
    refusal = metrics_refusal(scope)
    if refusal is not None:
        status, text = refusal
        headers = ((b"www-authenticate", b'Bearer realm="metrics"'),) if status == 401 else ()
        await respond(scope, send, status, text, "text/plain; charset=utf-8", headers)
        return
    loop = asyncio.get_running_loop()
    try:
        facts = await asyncio.wait_for(
            loop.run_in_executor(_scrapes, _facts), settings.METRICS_DATABASE_TIMEOUT_SECONDS
        )
    except Exception as error:
        # The process's own counts are still worth having; `videotermin_scrape_database_up` 0.
        log.warning("metrics without the database's numbers", error=type(error).__name__)
        facts = None
    body, content_type = await loop.run_in_executor(
        _scrapes, _exposition, facts, _header(scope, b"accept")
    )
    await respond(scope, send, 200, body, content_type)


ROUTES: dict[str, Callable[[Scope, Send], Awaitable[None]]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics_view,
}


class Probes:
    """ASGI: answer the probe paths directly and pass everything else to the application."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        route = ROUTES.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await respond(scope, send, 405, b"", "text/plain", ((b"allow", b"GET, HEAD"),))
            return
        await route(scope, send)
