"""Proxies: a forwarded address or scheme counts only when a configured proxy sent it, so no
client can choose the address that throttling and rate limits count."""

import asyncio

import pytest

from videotermin.lib.proxies import TrustedProxyMiddleware


def seen_by_the_application(headers: dict[str, str], peer: str, scheme: str = "http") -> dict:
    """What the application behind the middleware is given for one request."""
    seen: dict = {}

    async def application(scope, receive, send):
        seen.update(
            client=scope["client"][0], scheme=scope["scheme"], headers=dict(scope["headers"])
        )

    scope = {
        "type": "http",
        "scheme": scheme,
        "client": (peer, 50000),
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
    }
    asyncio.run(TrustedProxyMiddleware(application)(scope, None, None))
    return seen


FORGED = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}


def test_without_configured_proxies_forwarded_headers_are_removed(settings):
    settings.TRUSTED_PROXIES = []
    seen = seen_by_the_application(FORGED, peer="127.0.0.1")
    assert seen["client"] == "127.0.0.1"
    assert seen["scheme"] == "http"
    assert b"x-forwarded-for" not in seen["headers"]
    assert b"x-forwarded-proto" not in seen["headers"]


def test_a_client_next_to_the_proxy_cannot_forge_them_either(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    seen = seen_by_the_application(FORGED, peer="10.0.0.6")
    assert (seen["client"], seen["scheme"]) == ("10.0.0.6", "http")
    assert b"x-forwarded-proto" not in seen["headers"]


def test_the_trusted_proxy_tells_the_client_and_the_scheme(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    seen = seen_by_the_application(FORGED, peer="10.0.0.5")
    assert (seen["client"], seen["scheme"]) == ("203.0.113.9", "https")
    assert seen["headers"][b"x-forwarded-proto"] == b"https"


def test_what_the_client_put_before_the_proxys_entry_is_ignored(settings):
    # The proxy appends the address it saw; whatever the client sent stands to the left of it.
    settings.TRUSTED_PROXIES = ["10.0.0.5", "10.0.0.7"]
    headers = {"x-forwarded-for": "198.51.100.1, 203.0.113.9, 10.0.0.7"}
    assert seen_by_the_application(headers, peer="10.0.0.5")["client"] == "203.0.113.9"


@pytest.mark.parametrize("chain", ["not-an-address", "203.0.113.9, ", ""])
def test_a_malformed_chain_from_the_proxy_keeps_the_proxys_address(settings, chain):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    headers = {"x-forwarded-for": chain}
    assert seen_by_the_application(headers, peer="10.0.0.5")["client"] == "10.0.0.5"


def test_the_whole_application_is_behind_the_middleware():
    from videotermin.asgi import application

    for protocol in ("http", "websocket"):
        assert isinstance(application.application_mapping[protocol], TrustedProxyMiddleware)
