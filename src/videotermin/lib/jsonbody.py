"""JSON request bodies, read within limits: every JSON endpoint reads its body here.

The same rules as the signaling socket's messages (calls/protocol.py): a size limit checked
before anything is read, UTF-8, finite numbers only (no NaN, Infinity or 1e999), no key twice,
no NUL, and a few levels of nesting; a thousand levels would otherwise exhaust the parser.
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from videotermin.calls.protocol import ProtocolError, load


class BodyError(Exception):
    """The body is not what the endpoint reads; `too_large` tells the two refusals apart."""

    def __init__(self, too_large: bool = False) -> None:
        super().__init__("too large" if too_large else "not readable")
        self.too_large = too_large


def read_json(request: HttpRequest, max_bytes: int) -> Any:
    """The body's JSON value, or BodyError: nothing of a body over max_bytes is read."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BodyError() from None
    if announced > max_bytes:
        raise BodyError(too_large=True)
    try:
        body = request.body
    except RequestDataTooBig:
        raise BodyError(too_large=True) from None
    if len(body) > max_bytes:
        raise BodyError(too_large=True)
    try:
        return load(body.decode(), max_bytes)
    except UnicodeDecodeError:
        raise BodyError() from None
    except ProtocolError as error:
        raise BodyError(too_large=error.code == "too_large") from None
