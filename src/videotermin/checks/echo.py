"""The test call's echo (J7): the citizen's camera and microphone go to the server and come back.

Two backends answer the check page's offer (VIDEOTERMIN_ECHO_BACKEND):

- "aiortc", the embedded default, runs in the application's own event loop. It decodes and
  re-encodes every frame (about 15 % of a core per echo).
- "janus" asks a Janus WebRTC Server's echotest plugin over the Janus HTTP API
  (VIDEOTERMIN_JANUS_URL). Janus sends the packets back without decoding them; the browser
  never talks to the Janus API, only this module does.

Both share the bookkeeping: one place per participant, a limit of places per process
(TEST_CALL_LIMIT) and a maximum duration (TEST_CALL_SECONDS).

Neither may depend on the browser's host candidates: Firefox (and Chromium before the camera
is allowed) masks them as random `.local` mDNS names, which only a computer on the citizen's
own network could resolve. The server's answer carries addresses the browser can reach; the
browser's connectivity checks then tell the server where the browser is (peer-reflexive
candidates, RFC 8445 section 7.3.1.3).
"""

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from django.conf import settings

from videotermin.monitoring import metrics
from videotermin.resources import placement

logger = logging.getLogger(__name__)


class Busy(Exception):
    """All test-call places are taken; the citizen may try again in a moment."""


class Unavailable(Exception):
    """The echo service does not answer or answers with an error: nobody's fault in the browser."""


@dataclass
class EchoCall:
    id: str
    owner: str
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    # What the backend needs to end the call: a peer connection, a Janus session.
    handle: Any = field(default=None, repr=False)


class EchoBackend:
    """Places, limit and maximum duration; subclasses open and release the media path."""

    # The backend's name in the metrics (settings.ECHO_BACKEND).
    name = ""

    def __init__(self) -> None:
        self.calls: dict[str, EchoCall] = {}

    def count(self) -> int:
        return len(self.calls)

    async def answer(self, owner: str, offer_sdp: str) -> tuple[str, str]:
        """Start an echo for the owner (a participant's id); return its id and the answer SDP.

        A second test call of the same owner replaces the first, so nobody holds two places.
        Raises Busy when every place is taken, ValueError for an offer that cannot be read,
        and Unavailable when the echo service fails.
        """
        await self.close_owner(owner)
        if len(self.calls) >= settings.TEST_CALL_LIMIT:
            metrics.test_call(self.name, "busy")
            raise Busy
        call = EchoCall(id=secrets.token_hex(8), owner=owner)
        # Take the place before the first await, so that concurrent offers cannot overbook.
        self.calls[call.id] = call
        try:
            answer_sdp = await self.open(call, offer_sdp)
        except BaseException as error:
            await self.close(call.id)
            if isinstance(error, Exception):
                outcome = "invalid" if isinstance(error, ValueError) else "unavailable"
                metrics.test_call(self.name, outcome)
            raise
        loop = asyncio.get_running_loop()
        call.timer = loop.call_later(
            settings.TEST_CALL_SECONDS, lambda: loop.create_task(self.close(call.id))
        )
        logger.info("test call started (%d running)", len(self.calls))
        metrics.test_call(self.name, "started")
        metrics.test_calls_now(self.name, len(self.calls))
        return call.id, answer_sdp

    async def close(self, call_id: str) -> None:
        call = self.calls.pop(call_id, None)
        if call is None:
            return
        if call.timer is not None:
            call.timer.cancel()
        if call.handle is not None:
            await self.release(call)
        logger.info("test call ended (%d running)", len(self.calls))
        metrics.test_calls_now(self.name, len(self.calls))

    async def close_owner(self, owner: str) -> bool:
        ids = [call.id for call in self.calls.values() if call.owner == owner]
        for call_id in ids:
            await self.close(call_id)
        return bool(ids)

    async def close_all(self) -> None:
        for call_id in list(self.calls):
            await self.close(call_id)

    async def open(self, call: EchoCall, offer_sdp: str) -> str:
        """Set up the media path for the offer; keep what release() needs in call.handle."""
        raise NotImplementedError

    async def release(self, call: EchoCall) -> None:
        raise NotImplementedError


# "a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ..."
_CANDIDATE = re.compile(r"a=candidate:\S+ \d+ \S+ \d+ (?P<address>\S+) \d+ typ ", re.IGNORECASE)


def without_masked_candidates(sdp: str) -> str:
    """The offer without the browser's mDNS host candidates, which the server cannot resolve.

    aioice would send multicast queries for the names into the server's own network (in vain,
    a second per offer), and when nothing else is left, the browser's end-of-candidates makes it
    drop the whole component and gather no candidate of its own: the answer would offer the
    browser no address at all. An m-section left without candidates therefore loses its
    end-of-candidates too; its addresses come from the browser's checks. Such an echo never
    gives up by itself: the page hangs up when nothing arrives, or the maximum duration ends it.
    """
    line_break = "\r\n" if "\r\n" in sdp else "\n"
    sections: list[list[str]] = [[]]
    for line in sdp.split(line_break):
        if line.startswith("m="):
            sections.append([])
        match = _CANDIDATE.match(line)
        if match and match["address"].lower().endswith(".local"):
            continue
        sections[-1].append(line)
    for lines in sections[1:]:
        if not any(line.startswith("a=candidate:") for line in lines):
            lines[:] = [line for line in lines if line != "a=end-of-candidates"]
    return line_break.join(line for lines in sections for line in lines)


class AiortcEcho(EchoBackend):
    """Answers with a peer connection in this process that sends back what it receives."""

    name = "aiortc"

    async def open(self, call: EchoCall, offer_sdp: str) -> str:
        # No iceServers: the default would silently ask a public STUN server (GUIDE.md).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        call.handle = pc
        relay = MediaRelay()

        @pc.on("track")
        def on_track(track) -> None:
            # Attaches to the offer's transceiver of the same kind: the answer sends it back.
            pc.addTrack(relay.subscribe(track, buffered=False))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close(call.id)

        try:
            offer = RTCSessionDescription(sdp=without_masked_candidates(offer_sdp), type="offer")
            await pc.setRemoteDescription(offer)
        except Exception as error:  # aiortc's parser fails in many ways on a broken SDP
            raise ValueError("the offer could not be read") from error
        if not pc.getTransceivers():
            raise ValueError("the offer has neither audio nor video")
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def release(self, call: EchoCall) -> None:
        await call.handle.close()


# Janus answers a long poll after at most 30 s, with a keepalive when nothing happened.
JANUS_LONG_POLL_SECONDS = 30
# How long Janus may take to gather its candidates and answer the offer.
JANUS_ANSWER_SECONDS = 10
# Janus's error code for a JSEP it cannot parse (janus/apierror.h).
JANUS_ERROR_JSEP_INVALID_SDP = 465


@dataclass
class JanusSession:
    client: httpx.AsyncClient
    url: str
    events: asyncio.Task | None = None


class JanusEcho(EchoBackend):
    """Answers through the echotest plugin of a Janus server, one Janus session per test call.

    The session lives as long as the test call: a background long poll keeps it alive and
    notices Janus hanging up (ICE or DTLS failed, the browser went away); close() destroys it.
    """

    name = "janus"

    def _secret(self) -> dict[str, str]:
        return {"apisecret": settings.JANUS_API_SECRET} if settings.JANUS_API_SECRET else {}

    async def _request(self, client: httpx.AsyncClient, url: str, body: dict) -> dict:
        """One Janus API request; its synchronous answer, raising on a Janus error."""
        body = {**body, "transaction": secrets.token_hex(6), **self._secret()}
        try:
            response = await client.post(url, json=body)
            reply = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise Unavailable(f"Janus at {url} did not answer: {error}") from error
        if reply.get("janus") == "error":
            refusal = reply.get("error") or {}
            if refusal.get("code") == JANUS_ERROR_JSEP_INVALID_SDP:
                raise ValueError(refusal.get("reason") or "the offer could not be read")
            raise Unavailable(f"Janus refused {body['janus']!r}: {refusal}")
        return reply

    async def _events(self, session: JanusSession) -> list[dict]:
        """The session's next events (a keepalive when nothing happened within the long poll)."""
        response = await session.client.get(
            session.url,
            params={"maxev": 10, **self._secret()},
            timeout=JANUS_LONG_POLL_SECONDS + 10,
        )
        events = response.json()
        return events if isinstance(events, list) else [events]

    async def open(self, call: EchoCall, offer_sdp: str) -> str:
        # VIDEOTERMIN_JANUS_URL, or the registered Janus node with the least load (resources/).
        base = placement.janus_url().rstrip("/")
        client = httpx.AsyncClient(timeout=JANUS_ANSWER_SECONDS)
        try:
            created = await self._request(client, base, {"janus": "create"})
        except BaseException:
            await client.aclose()
            raise
        # From here on, release() destroys the session and closes the client.
        session = JanusSession(client=client, url=f"{base}/{created['data']['id']}")
        call.handle = session
        attached = await self._request(
            client, session.url, {"janus": "attach", "plugin": "janus.plugin.echotest"}
        )
        handle_url = f"{session.url}/{attached['data']['id']}"
        await self._request(
            client,
            handle_url,
            {
                "janus": "message",
                "body": {"audio": True, "video": True},
                "jsep": {"type": "offer", "sdp": offer_sdp},
            },
        )
        try:
            answer_sdp = await asyncio.wait_for(self._answer(session), JANUS_ANSWER_SECONDS)
        except (TimeoutError, httpx.HTTPError, ValueError) as error:
            raise Unavailable(f"Janus gave no answer: {error!r}") from error
        session.events = asyncio.get_running_loop().create_task(self._watch(call, session))
        return answer_sdp

    async def _answer(self, session: JanusSession) -> str:
        while True:
            for event in await self._events(session):
                jsep = event.get("jsep") or {}
                if jsep.get("type") == "answer":
                    return jsep["sdp"]
                if event.get("janus") in ("hangup", "error"):
                    raise ValueError(f"no answer but {event}")

    async def _watch(self, call: EchoCall, session: JanusSession) -> None:
        """Keep the session alive; end the test call when Janus hangs up or goes away."""
        try:
            while True:
                events = await self._events(session)
                if any(event.get("janus") in ("hangup", "detached") for event in events):
                    reason = next((e.get("reason") for e in events if e.get("reason")), "")
                    logger.info("Janus ended a test call: %s", reason)
                    break
                if any(event.get("janus") == "error" for event in events):
                    break  # the session is gone (timed out, Janus restarted)
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("lost Janus during a test call: %s", error)
        session.events = None  # close() must not cancel the task that calls it
        await self.close(call.id)

    async def release(self, call: EchoCall) -> None:
        session: JanusSession = call.handle
        if session.events is not None:
            session.events.cancel()
        try:
            await self._request(session.client, session.url, {"janus": "destroy"})
        except Unavailable as error:
            logger.info("Janus session already gone: %s", error)
        finally:
            await session.client.aclose()


BACKENDS: dict[str, type[EchoBackend]] = {"aiortc": AiortcEcho, "janus": JanusEcho}
_backends: dict[str, EchoBackend] = {}


def backend() -> EchoBackend:
    """The configured echo backend (one per process; settings.py refuses unknown names)."""
    name = settings.ECHO_BACKEND
    if name not in _backends:
        _backends[name] = BACKENDS[name]()
    return _backends[name]
