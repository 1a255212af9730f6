"""The health checks of the registered media servers, run by the job runner (tasks.py).

- TURN: every distinct address of its URLs answers a STUN Binding request (UDP, or TCP;
  coturn answers it without credentials), or accepts a TCP connection (`turns:`), within
  CHECK_SECONDS; and its shared secret can be read here.
- Janus: its `info` request answers as Janus; with an admin API configured, `list_sessions`
  gives its load.

A check reports the kind of failure only ("timeout", "ConnectionRefusedError"): messages may
name hosts or users, and they reach logs and the operator's listing.
"""

import asyncio
import secrets
from dataclasses import dataclass

import httpx

from videotermin.monitoring.checks import TurnServer, turn
from videotermin.resources.models import MediaServer
from videotermin.resources.placement import SecretUnavailable, read_secret

CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    error: str = ""
    load: int | None = None


class Failed(Exception):
    """A check that got an answer, but not the right one; the message is a kind, not prose."""


def _kind(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, Failed):
        return str(error)
    return type(error).__name__


async def _turn(server: MediaServer) -> None:
    try:
        read_secret(server.secret_ref)
    except SecretUnavailable:
        raise Failed("secret") from None
    addresses: dict[str, TurnServer] = {}
    for url in server.urls:
        address = TurnServer.parse(url)
        addresses.setdefault(address.name, address)
    await asyncio.gather(*(turn(address) for address in addresses.values()))


async def _janus(server: MediaServer) -> int | None:
    async with httpx.AsyncClient(timeout=CHECK_SECONDS) as client:
        response = await client.get(server.urls[0].rstrip("/") + "/info")
        response.raise_for_status()
        if response.json().get("janus") != "server_info":
            raise Failed("not_janus")
        if not server.admin_url:
            return None
        try:
            admin_secret = read_secret(server.admin_secret_ref) if server.admin_secret_ref else ""
        except SecretUnavailable:
            raise Failed("admin_secret") from None
        body = {"janus": "list_sessions", "transaction": secrets.token_hex(6)}
        if admin_secret:
            body["admin_secret"] = admin_secret
        reply = (await client.post(server.admin_url, json=body)).json()
        if reply.get("janus") != "success" or not isinstance(reply.get("sessions"), list):
            raise Failed("admin_refused")
        return len(reply["sessions"])


async def check(server: MediaServer) -> Verdict:
    """Check one server within CHECK_SECONDS."""
    try:
        if server.kind == MediaServer.Kind.TURN:
            await asyncio.wait_for(_turn(server), CHECK_SECONDS)
            return Verdict(True)
        load = await asyncio.wait_for(_janus(server), CHECK_SECONDS)
        return Verdict(True, load=load)
    except Exception as error:
        return Verdict(False, _kind(error))


async def check_all(servers: list[MediaServer]) -> list[Verdict]:
    """Check every server at once: the whole round takes no longer than CHECK_SECONDS."""
    return list(await asyncio.gather(*(check(server) for server in servers)))
