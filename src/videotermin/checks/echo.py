"""The test call's echo (J7): the citizen's camera and microphone go to the server and come back.

The embedded backend is aiortc in the application's own event loop. It decodes and re-encodes
every frame, so only a few echoes run at once (TEST_CALL_LIMIT), each for a short time
(TEST_CALL_SECONDS). A Janus echotest backend can take its place later (ECHO_BACKEND).
"""

import asyncio
import logging
import secrets
from dataclasses import dataclass, field

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


class Busy(Exception):
    """All test-call places are taken; the citizen may try again in a moment."""


@dataclass
class EchoCall:
    id: str
    owner: str
    pc: RTCPeerConnection
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class AiortcEcho:
    """Answers a browser's offer with a peer connection that sends back what it receives."""

    def __init__(self) -> None:
        self.calls: dict[str, EchoCall] = {}

    def count(self) -> int:
        return len(self.calls)

    async def answer(self, owner: str, offer_sdp: str) -> tuple[str, str]:
        """Start an echo for the owner (a participant's id); return its id and the answer SDP.

        A second test call of the same owner replaces the first, so nobody holds two places.
        """
        await self.close_owner(owner)
        if len(self.calls) >= settings.TEST_CALL_LIMIT:
            raise Busy
        # No iceServers: the default would silently ask a public STUN server (GUIDE.md).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        call = EchoCall(id=secrets.token_hex(8), owner=owner, pc=pc)
        # Take the place before the first await, so that concurrent offers cannot overbook.
        self.calls[call.id] = call
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
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except Exception as error:  # aiortc's parser fails in many ways on a broken SDP
                raise ValueError("the offer could not be read") from error
            if not pc.getTransceivers():
                raise ValueError("the offer has neither audio nor video")
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await self.close(call.id)
            raise
        loop = asyncio.get_running_loop()
        call.timer = loop.call_later(
            settings.TEST_CALL_SECONDS, lambda: loop.create_task(self.close(call.id))
        )
        logger.info("test call started (%d running)", len(self.calls))
        return call.id, pc.localDescription.sdp

    async def close(self, call_id: str) -> None:
        call = self.calls.pop(call_id, None)
        if call is None:
            return
        if call.timer is not None:
            call.timer.cancel()
        await call.pc.close()
        logger.info("test call ended (%d running)", len(self.calls))

    async def close_owner(self, owner: str) -> bool:
        ids = [call.id for call in self.calls.values() if call.owner == owner]
        for call_id in ids:
            await self.close(call_id)
        return bool(ids)

    async def close_all(self) -> None:
        for call_id in list(self.calls):
            await self.close(call_id)


_backends: dict[str, AiortcEcho] = {}


def backend() -> AiortcEcho:
    """The configured echo backend (one per process)."""
    name = settings.ECHO_BACKEND
    if name != "aiortc":
        raise ImproperlyConfigured(f"Unknown VIDEOTERMIN_ECHO_BACKEND {name!r}; use 'aiortc'.")
    return _backends.setdefault(name, AiortcEcho())
