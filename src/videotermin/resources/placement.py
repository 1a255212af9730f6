"""Which TURN server and which Janus node a new call or test call uses.

Without registered servers of a kind, the settings serve as before (TURN_URLS with TURN_SECRET,
VIDEOTERMIN_JANUS_URL). With some, the choice falls on a healthy one (a server not yet checked
counts as healthy; when every one has failed, all are offered rather than none, since a check
can be wrong and no server certainly is) with the least load:

- TURN: coturn reports no load of its own here, so it is the number of room members this
  process sent to the server within the last half of TURN_TTL_SECONDS (pages renew their
  credentials after a third of it). A member keeps the server it got as long as it stays usable,
  so a running call keeps its relay.
- Janus: the sessions its admin API reported at the last check, where one is configured;
  otherwise the test calls this process has open on it.

The registry is read from the database at most every REFRESH_SECONDS per process and kept in
memory: the room consumer asks on the event loop, which must not wait for the database. A stale
copy is refreshed in a thread while the old one still answers; only the very first read of a
process waits for it (at most FIRST_READ_SECONDS, then the settings answer).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0
FIRST_READ_SECONDS = 2.0

TURN, JANUS = "turn", "janus"


class SecretUnavailable(Exception):
    """A secret reference that cannot be read on this host."""


def read_secret(reference: str) -> str:
    """The secret a reference names: `env:NAME` (an environment variable) or `file:/path`."""
    scheme, _, where = reference.partition(":")
    if scheme == "env" and where:
        value = os.environ.get(where, "")
    elif scheme == "file" and where.startswith("/"):
        try:
            value = Path(where).read_text().strip()
        except OSError as error:
            raise SecretUnavailable(f"{reference}: {type(error).__name__}") from None
    else:
        raise SecretUnavailable(f"not env:NAME or file:/path: {reference!r}")
    if not value:
        raise SecretUnavailable(f"{reference} is empty")
    return value


@dataclass(frozen=True)
class Server:
    """A media server as placement sees it."""

    key: str  # the registry row's public id, or "settings"
    kind: str
    name: str
    urls: tuple[str, ...]
    secret: str = ""
    healthy: bool | None = None
    load: int | None = None

    @property
    def url(self) -> str:
        return self.urls[0]


@dataclass(frozen=True)
class Registry:
    servers: tuple[Server, ...]
    read_at: float

    def of(self, kind: str) -> list[Server]:
        return [server for server in self.servers if server.kind == kind]


def _read() -> Registry:
    """The registered servers from the database; TURN secrets resolved on this host."""
    from videotermin.resources.models import MediaServer

    servers = []
    for row in MediaServer.objects.order_by("kind", "name"):
        secret = ""
        if row.kind == TURN:
            try:
                secret = read_secret(row.secret_ref)
            except SecretUnavailable as error:
                # Without its secret no credentials can be made: not offered from this node.
                logger.warning("TURN server %s left out: %s", row.name, error)
                continue
        servers.append(
            Server(
                key=str(row.public_id),
                kind=row.kind,
                name=row.name,
                urls=tuple(row.urls),
                secret=secret,
                healthy=row.healthy,
                load=row.load,
            )
        )
    return Registry(tuple(servers), time.monotonic())


_lock = threading.Lock()
_registry: Registry | None = None
# Raised by forget(): a read that began before it is not stored.
_generation = 0
_pending: Future | None = None
_pending_since = 0.0
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="media-registry")


def _store(registry: Registry, generation: int) -> None:
    global _registry
    with _lock:
        if generation == _generation:
            _registry = registry


def _read_closing(generation: int) -> Registry:
    """_read() on the pool's thread, which must not keep a database connection open."""
    try:
        registry = _read()
    except Exception:
        logger.warning("The media server registry could not be read", exc_info=True)
        raise
    finally:
        connections.close_all()
    _store(registry, generation)
    return registry


def _read_in_thread() -> tuple[Future, float]:
    """The read under way in the pool's thread, started if there is none; and since when."""
    global _pending, _pending_since
    with _lock:
        if _pending is None or _pending.done():
            _pending = _pool.submit(_read_closing, _generation)
            _pending_since = time.monotonic()
        return _pending, _pending_since


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def registry() -> Registry | None:
    """The registry as this process knows it; None when it has never been read."""
    current = _registry
    if current is not None and time.monotonic() - current.read_at < REFRESH_SECONDS:
        return current
    if not _on_event_loop():
        generation = _generation
        try:
            fresh = _read()
        except Exception:
            # The database is away for a moment: the last known registry, or the settings.
            logger.warning("The media server registry could not be read", exc_info=True)
            return current
        _store(fresh, generation)
        return fresh
    pending, since = _read_in_thread()
    if current is not None:
        return current
    # Never read yet: wait for it, but no longer than FIRST_READ_SECONDS after the read began,
    # so that a database that hangs holds up the event loop once, not at every call.
    wait = FIRST_READ_SECONDS - (time.monotonic() - since)
    if wait <= 0:
        return None
    try:
        return pending.result(timeout=wait)
    except Exception:  # not read in time, or not at all (logged): the settings answer
        return None


def forget() -> None:
    """Read the registry afresh at the next placement (after a change in this process)."""
    global _registry, _generation
    with _lock:
        _registry = None
        _generation += 1


def _usable(servers: list[Server]) -> list[Server]:
    """The healthy or unchecked ones; all when every one has failed."""
    working = [server for server in servers if server.healthy is not False]
    return working or servers


class _Assignments:
    """Room members this process sent to each TURN server, each counted for a while."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: dict[str, tuple[str, float]] = {}  # member -> (server key, until)
        self.expiries: deque[tuple[float, str]] = deque()
        self.counts: Counter[str] = Counter()

    def _expire(self, now: float) -> None:
        while self.expiries and self.expiries[0][0] <= now:
            until, member = self.expiries.popleft()
            current = self.current.get(member)
            if current is not None and current[1] == until:
                del self.current[member]
                self.counts[current[0]] -= 1

    def choose(self, member: str, servers: list[Server], seconds: float) -> Server:
        now = time.monotonic()
        with self.lock:
            self._expire(now)
            keys = {server.key: server for server in servers}
            kept = self.current.get(member)
            if kept is not None and kept[0] in keys:
                chosen = keys[kept[0]]
            else:
                chosen = min(servers, key=lambda s: (self.counts[s.key], s.name))
            if kept is not None:
                self.counts[kept[0]] -= 1
            until = now + seconds
            self.current[member] = (chosen.key, until)
            self.expiries.append((until, member))
            self.counts[chosen.key] += 1
            return chosen

    def load(self, key: str) -> int:
        with self.lock:
            self._expire(time.monotonic())
            return self.counts[key]

    def clear(self) -> None:
        with self.lock:
            self.current.clear()
            self.expiries.clear()
            self.counts.clear()


assignments = _Assignments()


def turn_servers(member_id: str | None = None) -> list[Server]:
    """The TURN server (with its URLs and shared secret) that a room member's browser gets.

    Without `member_id`: whether there is any to offer, nothing counted.
    """
    known = registry()
    registered = known.of(TURN) if known is not None else []
    if not registered:
        if not settings.TURN_URLS:
            return []
        return [
            Server("settings", TURN, "settings", tuple(settings.TURN_URLS), settings.TURN_SECRET)
        ]
    usable = _usable(registered)
    if member_id is None:
        return usable[:1]
    # Pages renew after a third of the TTL: a member still connected has renewed by then.
    return [assignments.choose(member_id, usable, settings.TURN_TTL_SECONDS / 2)]


def _test_calls_on(url: str) -> int:
    """The test calls this process has open on the Janus node at `url`."""
    from videotermin.checks import echo

    base = url.rstrip("/") + "/"
    handles = [call.handle for call in echo.backend().calls.values()]
    return sum(1 for handle in handles if getattr(handle, "url", "").startswith(base))


def janus_load(server: Server) -> int:
    """Sessions the admin API reported at the last check, else this process's test calls."""
    return server.load if server.load is not None else _test_calls_on(server.url)


def janus_url() -> str:
    """The HTTP API of the Janus node for a new test call."""
    known = registry()
    registered = known.of(JANUS) if known is not None else []
    if not registered:
        return settings.JANUS_URL
    usable = _usable(registered)
    return min(usable, key=lambda s: (janus_load(s), _test_calls_on(s.url), s.name)).url
