"""The signaling protocol, version 2 (docs/protocol.md): every inbound message is validated here."""

import json
import math
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

VERSION = 2
SESSION_PATTERN = r"^[0-9a-f]{16}$"


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    v: Literal[2]


class Ping(Message):
    type: Literal["ping"]


# A ping and its pong as the pages write them (protocol.js): compared and sent as they are.
PING_FRAME = json.dumps({"v": VERSION, "type": "ping"}, separators=(",", ":"))
PONG_FRAME = json.dumps({"type": "pong", "v": VERSION}, separators=(",", ":"))


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    result: Literal["green", "yellow", "red"]
    details: dict[
        Annotated[str, Field(max_length=40)],
        bool | int | float | Annotated[str, Field(max_length=200)] | None,
    ] = Field(default_factory=dict, max_length=30)


class Network(BaseModel):
    """A citizen's live network sample for the counselor; relayed, never stored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    rttMs: Annotated[float, Field(ge=0, le=60_000)] | None = None  # noqa: N815 (browser's names)
    lossPct: Annotated[float, Field(ge=0, le=100)] | None = None  # noqa: N815
    kbpsOut: Annotated[float, Field(ge=0, le=1_000_000)] | None = None  # noqa: N815
    kbpsIn: Annotated[float, Field(ge=0, le=1_000_000)] | None = None  # noqa: N815
    mode: Literal["high", "saver", "audio"]


class Status(Message):
    """The sender's own device status: camera and microphone on or off, the device check."""

    type: Literal["status"]
    camera: bool | None = None
    microphone: bool | None = None
    # Sharing a screen now; the only field the counselor's status is read for.
    screen: bool | None = None
    check: Check | None = None
    network: Network | None = None


class Description(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["offer", "answer"]
    sdp: Annotated[str, Field(max_length=30_000)]


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    candidate: Annotated[str, Field(max_length=1_000)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None  # noqa: N815 (browser's name)
    sdpMLineIndex: Annotated[int, Field(ge=0, le=64)] | None = None  # noqa: N815
    usernameFragment: Annotated[str, Field(max_length=256)] | None = None  # noqa: N815


class Signal(Message):
    """A WebRTC description or ICE candidate for one other connection in the same room."""

    type: Literal["signal"]
    to: Annotated[str, Field(pattern=SESSION_PATTERN)]
    description: Description | None = None
    candidate: Candidate | None = None


class Admit(Message):
    """The host lets a waiting member in."""

    type: Literal["admit"]
    member: UUID


class Permissions(Message):
    """The host allows or forbids a member to share a screen, send documents or chat."""

    type: Literal["permissions"]
    member: UUID
    screen: bool | None = None
    documents: bool | None = None
    chat: bool | None = None


class Remove(Message):
    """The host takes a member out of the consultation."""

    type: Literal["remove"]
    member: UUID


class HandOver(Message):
    """The host makes a colleague the host (or a colleague takes over from an absent host)."""

    type: Literal["handover"]
    member: UUID


class Identity(Message):
    """The host confirms that this member's identity was checked."""

    type: Literal["identity"]
    member: UUID


class IceRefresh(Message):
    """Ask for fresh ICE servers (TURN credentials) before the current ones expire."""

    type: Literal["ice_refresh"]


class MediaStarted(Message):
    """The page's first peer connection came up: media flows (for the metrics only)."""

    type: Literal["media_started"]


class Leave(Message):
    type: Literal["leave"]


class End(Message):
    type: Literal["end"]


Inbound = Annotated[
    Ping
    | Status
    | Signal
    | Admit
    | Identity
    | Permissions
    | Remove
    | HandOver
    | Leave
    | End
    | IceRefresh
    | MediaStarted,
    Field(discriminator="type"),
]
_inbound = TypeAdapter(Inbound)


# No message of the protocol nests deeper than this (status → check → details → value).
MAX_DEPTH = 6


class ProtocolError(Exception):
    def __init__(self, code: str, ref: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.ref = ref


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _finite(text: str) -> float:
    # 1e999 is valid JSON for infinity: as unwelcome as Infinity itself.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # With a key twice, parsers disagree on which one counts: such a message means nothing.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key appears twice")
    return result


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check(value: Any, room: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than the limit, NUL characters and halves of surrogate pairs (what
    a database refuses to store, or a page to decode)."""
    if isinstance(value, str):
        if "\x00" in value or not value.isascii() and not _encodes(value):
            raise ProtocolError("invalid")
    elif isinstance(value, dict | list):
        if room <= 0:
            raise ProtocolError("invalid")
        for key in value if isinstance(value, dict) else ():
            _check(key)
        for item in value.values() if isinstance(value, dict) else value:
            _check(item, room - 1)


def load(text: str | None, max_bytes: int) -> Any:
    """The JSON of one text frame within the limits every socket keeps: at most max_bytes of
    UTF-8, nested at most MAX_DEPTH deep, finite numbers only, no key twice, no NUL; or raise
    ProtocolError ("too_large" or "invalid")."""
    if text is None:  # a binary frame
        raise ProtocolError("invalid")
    if len(text.encode(errors="surrogatepass")) > max_bytes:
        raise ProtocolError("too_large")
    try:
        raw = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite, object_pairs_hook=_object
        )
    except (ValueError, RecursionError):
        # Not JSON, NaN or Infinity (not JSON either), or nested beyond what anybody sends.
        raise ProtocolError("invalid") from None
    _check(raw)
    return raw


def parse(text: str | None, max_bytes: int) -> Any:
    """Return the validated message, or raise ProtocolError with the reason."""
    raw = load(text, max_bytes)
    if text is None or not isinstance(raw, dict):
        raise ProtocolError("invalid")
    kind = raw.get("type")
    if "type" in raw and not isinstance(kind, str):
        raise ProtocolError("invalid")
    ref = kind
    # 2.0 or true are not 2: the version is an integer, exactly.
    if "v" in raw and (type(raw["v"]) is not int or raw["v"] != VERSION):
        raise ProtocolError("unsupported_version", ref)
    try:
        # Strict: "yes" is not a boolean and "1" is not a number (lax mode would coerce them).
        return _inbound.validate_json(text, strict=True)
    except ValidationError as error:
        unknown_type = any(e["type"] == "union_tag_invalid" for e in error.errors())
        raise ProtocolError("unknown_type" if unknown_type else "invalid", ref) from None
