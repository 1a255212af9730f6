"""The signaling protocol, version 2 (docs/protocol.md): every inbound message is validated here."""

import json
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
    | IceRefresh,
    Field(discriminator="type"),
]
_inbound = TypeAdapter(Inbound)


# No message of the protocol nests deeper than this (status → check → details → value).
MAX_DEPTH = 6


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _depth(value: Any, limit: int = MAX_DEPTH + 1) -> int:
    """How deeply the value nests, counted only up to just past the limit."""
    if limit <= 0 or not isinstance(value, dict | list):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


class ProtocolError(Exception):
    def __init__(self, code: str, ref: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.ref = ref


def parse(text: str | None, max_bytes: int) -> Any:
    """Return the validated message, or raise ProtocolError with the reason."""
    if text is None:
        raise ProtocolError("invalid")
    if len(text.encode()) > max_bytes:
        raise ProtocolError("too_large")
    try:
        raw = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        # Not JSON, NaN or Infinity (not JSON either), or nested beyond what anybody sends.
        raise ProtocolError("invalid") from None
    if _depth(raw) > MAX_DEPTH:
        raise ProtocolError("invalid")
    ref = raw.get("type") if isinstance(raw, dict) and isinstance(raw.get("type"), str) else None
    # 2.0 or true are not 2: the version is an integer, exactly.
    if isinstance(raw, dict) and "v" in raw and (type(raw["v"]) is not int or raw["v"] != VERSION):
        raise ProtocolError("unsupported_version", ref)
    try:
        # Strict: "yes" is not a boolean and "1" is not a number (lax mode would coerce them).
        return _inbound.validate_json(text, strict=True)
    except ValidationError as error:
        unknown_type = any(e["type"] == "union_tag_invalid" for e in error.errors())
        raise ProtocolError("unknown_type" if unknown_type else "invalid", ref) from None
