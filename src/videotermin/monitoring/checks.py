"""What /readyz asks: the database, the channel layer, the cache and the TURN servers and Janus
nodes that calls are placed on (the registered ones, resources app, else the settings'). Each
check has a deadline of its own, and all run at once, so the answer never takes longer than the
slowest deadline.
"""

import asyncio
import functools
import os
import secrets
import struct
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs

import httpx
import structlog
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connections

log = structlog.get_logger(__name__)

# Blocking clients (the database driver, the cache's Redis client) run here, never on the event
# loop or on the thread that Django's synchronous code shares: a database that hangs holds at
# most these threads, and a check that finds them all busy simply runs out of time.
_blocking = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")

# The checks of what this node needs itself (a load balancer's probe, `?scope=node`); TURN and
# Janus serve every node alike.
NODE_CHECKS = ("database", "channel_layer", "cache")


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    seconds: float
    error: str = ""

    def as_json(self) -> dict:
        entry: dict = {"name": self.name, "ok": self.ok, "ms": round(self.seconds * 1000, 1)}
        if not self.ok:
            entry["error"] = self.error
        return entry


def in_thread(function: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """Run a blocking check in the checks' own threads, closing its database connections."""

    def closing() -> None:
        try:
            function()
        finally:
            connections.close_all()

    async def run() -> None:
        await asyncio.get_running_loop().run_in_executor(_blocking, closing)

    return run


def _database() -> None:
    # A connection as every request gets one (from the pool, where PostgreSQL has one), given
    # back afterwards by in_thread.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("unexpected answer")


def _cache() -> None:
    key, value = f"videotermin:readyz:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not keep a value")
    finally:
        cache.delete(key)


async def channel_layer() -> None:
    """A message through the channel layer to a channel of this process and back (through
    Redis when it is the layer's)."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer")
    channel = await layer.new_channel()
    token = secrets.token_hex(8)
    send = getattr(layer, "send_through_redis", layer.send)
    await send(channel, {"type": "readyz.ping", "token": token})
    message = await layer.receive(channel)
    if message.get("token") != token:
        raise RuntimeError("a different message came back")


@dataclass(frozen=True)
class TurnServer:
    """One address of TURN_URLS: `turn:host:port?transport=udp`, `turns:host:port?...`."""

    scheme: str
    host: str
    port: int
    transport: str

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme} {host}:{self.port}/{self.transport}"

    @classmethod
    def parse(cls, url: str) -> "TurnServer":
        scheme, _, rest = url.strip().partition(":")
        scheme = scheme.lower()
        if scheme not in ("turn", "turns", "stun", "stuns"):
            raise ValueError(f"not a TURN or STUN URL: {url!r}")
        address, _, query = rest.partition("?")
        secure = scheme.endswith("s")
        port = 5349 if secure else 3478
        if address.startswith("["):
            host, _, after = address[1:].partition("]")
            if after.startswith(":"):
                port = int(after[1:])
        elif address.count(":") == 1:
            host, _, number = address.partition(":")
            port = int(number)
        else:
            host = address
        transport = parse_qs(query).get("transport", ["tcp" if secure else "udp"])[0].lower()
        if not host or transport not in ("udp", "tcp"):
            raise ValueError(f"cannot check {url!r}")
        return cls(scheme, host, port, transport)


def media_servers() -> tuple[list[str], list[tuple[str, str]]]:
    """The TURN URLs, and the Janus nodes (a check's name, the URL) for test calls, on which
    new calls are placed: the registered ones when there are any (resources/placement.py),
    else those of the settings."""
    from videotermin.resources import placement

    known = placement.registry()
    registered_turn = known.of(placement.TURN) if known is not None else []
    registered_janus = known.of(placement.JANUS) if known is not None else []
    turn_urls = [url for server in registered_turn for url in server.urls] or settings.TURN_URLS
    janus_nodes: list[tuple[str, str]] = []
    if settings.ECHO_BACKEND == "janus":
        janus_nodes = [(f"janus {server.name}", server.url) for server in registered_janus] or [
            ("janus", settings.JANUS_URL)
        ]
    return list(turn_urls), janus_nodes


def turn_servers(urls: list[str]) -> list[TurnServer]:
    """The distinct addresses of TURN URLs (the same server is often named for UDP and TCP)."""
    found: dict[str, TurnServer] = {}
    for url in urls:
        server = TurnServer.parse(url)
        found.setdefault(server.name, server)
    return list(found.values())


STUN_MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101


def binding_request() -> tuple[bytes, bytes]:
    """A STUN Binding request (RFC 8489) without attributes, and its transaction id."""
    transaction = os.urandom(12)
    return struct.pack("!HHI", BINDING_REQUEST, 0, STUN_MAGIC_COOKIE) + transaction, transaction


def is_binding_success(data: bytes, transaction: bytes) -> bool:
    if len(data) < 20:
        return False
    kind, _, cookie = struct.unpack("!HHI", data[:8])
    return kind == BINDING_SUCCESS and cookie == STUN_MAGIC_COOKIE and data[8:20] == transaction


class _StunClient(asyncio.DatagramProtocol):
    def __init__(self, request: bytes, transaction: bytes) -> None:
        self.request, self.transaction = request, transaction
        self.answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if is_binding_success(data, self.transaction) and not self.answered.done():
            self.answered.set_result(None)

    def error_received(self, exc: Exception) -> None:
        # A closed port answers with ICMP "port unreachable": refused at once.
        if not self.answered.done():
            self.answered.set_exception(exc)


# UDP may lose a packet: the request is sent again until the deadline.
STUN_RESEND_SECONDS = 0.25


async def turn(server: TurnServer) -> None:
    """A STUN Binding request over UDP or TCP (coturn answers it without credentials); for TLS
    (`turns:`) the TCP connection only."""
    request, transaction = binding_request()
    if server.transport == "udp":
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(
            lambda: _StunClient(request, transaction), remote_addr=(server.host, server.port)
        )
        try:
            while True:
                transport.sendto(request)
                done, _ = await asyncio.wait({client.answered}, timeout=STUN_RESEND_SECONDS)
                if done:
                    client.answered.result()
                    return
        finally:
            transport.close()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        if server.scheme.endswith("s"):
            return
        writer.write(request)
        await writer.drain()
        header = await reader.readexactly(20)
        length = struct.unpack("!H", header[2:4])[0]
        await reader.readexactly(length)
        if not is_binding_success(header, transaction):
            raise RuntimeError("no STUN Binding success")
    finally:
        writer.close()


async def janus(base: str) -> None:
    """Janus's `info` request on its HTTP API (no session, no secret needed)."""
    url = base.rstrip("/") + "/info"
    async with httpx.AsyncClient(timeout=settings.READYZ_TIMEOUT_SECONDS) as client:
        response = await client.get(url)
    response.raise_for_status()
    if response.json().get("janus") != "server_info":
        raise RuntimeError("not Janus's server_info")


def configured(scope: str = "all") -> dict[str, Callable[[], Awaitable[None]]]:
    """The checks to run: this node's own, and (scope "all") the media servers."""
    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "database": in_thread(_database),
        "channel_layer": channel_layer,
        "cache": in_thread(_cache),
    }
    if scope == "node":
        return checks
    turn_urls, janus_nodes = media_servers()
    for server in turn_servers(turn_urls):
        checks[server.name] = functools.partial(turn, server)
    for name, url in janus_nodes:
        checks[name] = functools.partial(janus, url)
    return checks


# Whether each check passed last time in this process: a change is logged once, not every probe.
_passed: dict[str, bool] = {}


async def _timed(name: str, check: Callable[[], Awaitable[None]], timeout: float) -> Result:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        error = f"no answer within {timeout:g} s"
    except Exception as failure:
        # The kind of failure only: /readyz answers anybody, and messages may name hosts or users.
        error = type(failure).__name__
    else:
        error = ""
    result = Result(name, not error, time.perf_counter() - start, error)
    if _passed.get(name, True) != result.ok:
        if result.ok:
            log.info("readiness check passes again", check=name)
        else:
            log.warning("readiness check failed", check=name, error=error)
    _passed[name] = result.ok
    return result


async def run(scope: str = "all") -> list[Result]:
    """Run the checks at once, each within READYZ_TIMEOUT_SECONDS."""
    timeout = settings.READYZ_TIMEOUT_SECONDS
    checks = configured(scope)
    return list(
        await asyncio.gather(*(_timed(name, check, timeout) for name, check in checks.items()))
    )
