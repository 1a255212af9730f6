"""The language a WebSocket speaks: the one its page was rendered in."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header


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


STAFF_PATH = "/staff/"


def browser_language(request: HttpRequest) -> str | None:
    """The first language the browser asks for that the citizen's pages speak, if any."""
    offered = dict(settings.LANGUAGES)
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        primary = code.split("-")[0].lower()
        if primary in offered:
            return primary
    return None


def language_to_offer(request: HttpRequest) -> str | None:
    """The browser's language, offered on a citizen's page that speaks another one because the
    appointment was booked in it, as long as the citizen has not chosen with the switch."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return None
    browser = browser_language(request)
    return browser if browser and browser != translation.get_language() else None


def staff_language(language: str, accept_language: str = "") -> str:
    """Staff pages speak German and English only: another language becomes the first of those
    the browser accepts, else the site's default."""
    if language in settings.STAFF_LANGUAGES:
        return language
    for code, _quality in parse_accept_lang_header(accept_language):
        primary = code.split("-")[0].lower()
        if primary in settings.STAFF_LANGUAGES:
            return primary
    return settings.LANGUAGE_CODE


class StaffLanguageMiddleware:
    """After LocaleMiddleware: the staff workspace speaks German or English, whatever language a
    citizen's page chose in the same browser."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path.startswith(STAFF_PATH):
            language = staff_language(
                translation.get_language(), request.META.get("HTTP_ACCEPT_LANGUAGE", "")
            )
            if language != translation.get_language():
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)
