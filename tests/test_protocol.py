"""The signaling protocol, version 2, accepts exactly the documented messages."""

import json
import uuid

import pytest

from videotermin.calls import protocol

LIMIT = 64 * 1024
MEMBER = str(uuid.uuid4())


def parse(message) -> object:
    return protocol.parse(json.dumps(message), LIMIT)


def refusal(text: str) -> protocol.ProtocolError:
    with pytest.raises(protocol.ProtocolError) as error:
        protocol.parse(text, LIMIT)
    return error.value


def test_it_speaks_version_2():
    assert protocol.VERSION == 2


def test_it_accepts_a_ping():
    assert parse({"v": 2, "type": "ping"}).type == "ping"


def test_it_accepts_an_offer_for_a_session():
    message = parse(
        {
            "v": 2,
            "type": "signal",
            "to": "0123456789abcdef",
            "description": {"type": "offer", "sdp": "v=0\r\n"},
        }
    )
    assert message.description.type == "offer"


@pytest.mark.parametrize("kind", ["admit", "identity", "remove", "handover"])
def test_the_hosts_decisions_name_the_member_they_are_about(kind):
    message = parse({"v": 2, "type": kind, "member": MEMBER})
    assert message.type == kind
    assert str(message.member) == MEMBER


def test_permissions_name_the_member_and_only_what_changes():
    message = parse({"v": 2, "type": "permissions", "member": MEMBER, "screen": True})
    assert str(message.member) == MEMBER
    assert (message.screen, message.documents, message.chat) == (True, None, None)
    every = parse(
        {
            "v": 2,
            "type": "permissions",
            "member": MEMBER,
            "screen": False,
            "documents": False,
            "chat": True,
        }
    )
    assert (every.screen, every.documents, every.chat) == (False, False, True)


@pytest.mark.parametrize("kind", ["leave", "end", "ice_refresh", "media_started"])
def test_it_accepts_the_messages_without_fields(kind):
    assert parse({"v": 2, "type": kind}).type == kind


def test_a_status_carries_devices_the_check_and_a_network_sample():
    message = parse(
        {
            "v": 2,
            "type": "status",
            "camera": True,
            "microphone": False,
            "check": {"result": "green", "details": {"browser": "Firefox 133", "rtt_ms": 42}},
            "network": {"rttMs": 48.5, "lossPct": 1.2, "kbpsOut": 151, "mode": "saver"},
        }
    )
    assert message.check.details["rtt_ms"] == 42
    assert message.network.mode == "saver"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "invalid"),
        ("[]", "invalid"),
        (json.dumps({"type": "ping"}), "invalid"),
        (json.dumps({"v": 2, "type": "dance"}), "unknown_type"),
        (json.dumps({"v": 1, "type": "ping"}), "unsupported_version"),
        (json.dumps({"v": 3, "type": "ping"}), "unsupported_version"),
        (json.dumps({"v": "2", "type": "ping"}), "unsupported_version"),
        (json.dumps({"v": 2, "type": "ping", "extra": 1}), "invalid"),
        (
            json.dumps(
                {"v": 2, "type": "signal", "to": "../other", "candidate": {"candidate": ""}}
            ),
            "invalid",
        ),
        (json.dumps({"v": 2, "type": "admit", "member": "not-a-uuid"}), "invalid"),
        # Version 1 named the citizen "participant"; version 2 says "member".
        (json.dumps({"v": 2, "type": "admit", "participant": MEMBER}), "invalid"),
        (json.dumps({"v": 2, "type": "identity"}), "invalid"),
        (json.dumps({"v": 2, "type": "remove"}), "invalid"),
        (json.dumps({"v": 2, "type": "handover", "member": 7}), "invalid"),
        # Version 1's screen permission is now part of "permissions".
        (
            json.dumps({"v": 2, "type": "screen", "participant": MEMBER, "allowed": True}),
            "unknown_type",
        ),
        (json.dumps({"v": 2, "type": "permissions", "member": MEMBER, "chat": "yes"}), "invalid"),
        (json.dumps({"v": 2, "type": "permissions", "member": MEMBER, "screen": 1}), "invalid"),
        (json.dumps({"v": 2, "type": "permissions", "member": MEMBER, "video": True}), "invalid"),
        (json.dumps({"v": 2, "type": "status", "check": {"result": "purple"}}), "invalid"),
        (json.dumps({"v": 2, "type": "status", "camera": "true"}), "invalid"),
    ],
)
def test_it_refuses_what_the_protocol_does_not_name(text, code):
    assert refusal(text).code == code


@pytest.mark.parametrize(
    "text",
    [
        '{"v": 2, "type": "status", "network": {"rttMs": NaN, "mode": "high"}}',
        '{"v": 2, "type": "status", "network": {"kbpsIn": Infinity, "mode": "high"}}',
        '{"v": 2, "type": "status", "check": {"result": "green", "details": {"x": -Infinity}}}',
        # Too large for a float: Python would read it as infinity.
        '{"v": 2, "type": "status", "check": {"result": "green", "details": {"x": 1e400}}}',
    ],
)
def test_it_refuses_numbers_that_are_not_finite(text):
    assert refusal(text).code == "invalid"


def nested(depth: int) -> str:
    """A status whose check detail holds lists nested so that the message is `depth` deep."""
    inner = "1"
    for _ in range(depth - 3):  # the message, its check and the details are three levels
        inner = f"[{inner}]"
    return json.dumps(
        {"v": 2, "type": "status", "check": {"result": "green", "details": {"x": "INNER"}}}
    ).replace('"INNER"', inner)


def test_the_deepest_message_of_the_protocol_is_within_the_limit():
    assert protocol.MAX_DEPTH >= 3
    assert parse({"v": 2, "type": "status", "check": {"result": "green", "details": {"x": 1}}})


def test_it_refuses_a_message_nested_deeper_than_the_limit_before_validating_it():
    # Within the limit the schema refuses the list and names the type; beyond it the message is
    # refused before anything is read from it.
    assert refusal(nested(protocol.MAX_DEPTH)).ref == "status"
    too_deep = refusal(nested(protocol.MAX_DEPTH + 1))
    assert (too_deep.code, too_deep.ref) == ("invalid", None)


def test_a_message_nested_thousands_deep_is_invalid_not_a_crash():
    text = "[" * 20_000 + "]" * 20_000
    assert len(text) < LIMIT
    assert refusal(text).code == "invalid"
    assert refusal('{"v": 2, "type": "ping", "x": ' + "[" * 20_000 + "]" * 20_000 + "}").code == (
        "invalid"
    )


def test_it_refuses_an_oversized_message_before_parsing_it():
    error = refusal(json.dumps({"v": 2, "type": "ping", "pad": "x" * LIMIT}))
    assert error.code == "too_large"


def test_it_names_the_type_of_the_refused_message():
    assert refusal(json.dumps({"v": 2, "type": "admit"})).ref == "admit"
    assert refusal(json.dumps({"v": 1, "type": "permissions"})).ref == "permissions"
