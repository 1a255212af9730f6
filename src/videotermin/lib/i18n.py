"""The language a WebSocket speaks: the one its page was rendered in."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation


def socket_language(scope: dict[str, Any], default: str | None = None) -> str:
    """The language chosen with the switch (cookie), else `default`, else Accept-Language.

    Citizens' pages default to their appointment's language; staff pages to the browser's.
    """
    cookies = scope.get("cookies", {})
    chosen = cookies.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in dict(settings.LANGUAGES):
        return chosen
    if default in dict(settings.LANGUAGES):
        return default  # type: ignore[return-value]
    request = HttpRequest()
    request.COOKIES = cookies
    headers = dict(scope.get("headers", []))
    request.META["HTTP_ACCEPT_LANGUAGE"] = headers.get(b"accept-language", b"").decode("latin-1")
    return translation.get_language_from_request(request)
