"""The signaling protocol accepts exactly the documented messages."""

import json

import pytest

from videotermin.calls import protocol

LIMIT = 64 * 1024


def parse(message) -> object:
    return protocol.parse(json.dumps(message), LIMIT)


def test_it_accepts_a_ping():
    assert parse({"v": 1, "type": "ping"}).type == "ping"


def test_it_accepts_an_offer_for_a_session():
    message = parse(
        {
            "v": 1,
            "type": "signal",
            "to": "0123456789abcdef",
            "description": {"type": "offer", "sdp": "v=0\r\n"},
        }
    )
    assert message.description.type == "offer"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "invalid"),
        ("[]", "invalid"),
        (json.dumps({"v": 1, "type": "dance"}), "unknown_type"),
        (json.dumps({"v": 2, "type": "ping"}), "unsupported_version"),
        (json.dumps({"v": 1, "type": "ping", "extra": 1}), "invalid"),
        (
            json.dumps(
                {"v": 1, "type": "signal", "to": "../other", "candidate": {"candidate": ""}}
            ),
            "invalid",
        ),
        (json.dumps({"v": 1, "type": "admit", "participant": "not-a-uuid"}), "invalid"),
        (json.dumps({"v": 1, "type": "status", "check": {"result": "purple"}}), "invalid"),
    ],
)
def test_it_refuses_what_the_protocol_does_not_name(text, code):
    with pytest.raises(protocol.ProtocolError) as error:
        protocol.parse(text, LIMIT)
    assert error.value.code == code


def test_it_refuses_an_oversized_message_before_parsing_it():
    with pytest.raises(protocol.ProtocolError) as error:
        protocol.parse(json.dumps({"v": 1, "type": "ping", "pad": "x" * LIMIT}), LIMIT)
    assert error.value.code == "too_large"


def test_it_names_the_type_of_the_refused_message():
    with pytest.raises(protocol.ProtocolError) as error:
        protocol.parse(json.dumps({"v": 1, "type": "admit"}), LIMIT)
    assert error.value.ref == "admit"
