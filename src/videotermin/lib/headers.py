"""Strict browser security headers on every response."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

# Everything comes from the agency's own server: no CDN, no inline script, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "font-src 'self'",
        "connect-src 'self'{websocket}",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Camera, microphone and screen capture only for this site itself; everything else off.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "microphone=(self)",
        "display-capture=(self)",
        "fullscreen=(self)",
        "geolocation=()",
        "payment=()",
        "usb=()",
    ]
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(response, "same_for_everybody", False):
            _vary_by_encoding_only(response)
        if _is_subresource(response):
            # A script or a style sheet is never a document: the policies that govern documents
            # do nothing on it, and on a 3G line their bytes on each of twenty files count.
            for name in DOCUMENT_ONLY:
                response.headers.pop(name, None)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
            return response
        response.headers.setdefault("Content-Security-Policy", content_security_policy(request))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        # Set further in by Django's middleware, unless a refusal (a bad Host header) ended the
        # request before it got there.
        response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        response.headers.setdefault(
            "Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
        )
        return response


# Headers that only a document (a page, an SVG opened on its own) heeds.
DOCUMENT_ONLY = (
    "Content-Security-Policy",
    "Permissions-Policy",
    "X-Frame-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)
SUBRESOURCE_TYPES = ("text/javascript", "application/javascript", "text/css")


def _is_subresource(response: HttpResponse) -> bool:
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type in SUBRESOURCE_TYPES and response.status_code < 400


def same_for_everybody(response: HttpResponse) -> HttpResponse:
    """Mark a response whose URL names exactly what it holds (a logo by its hash, colours by their
    values): Django's middleware says it varies by cookie and language, and a browser would then
    fetch it again on every page after a cookie changed (the citizen's consent, a language)."""
    response.same_for_everybody = True  # type: ignore[attr-defined]
    return response


def _vary_by_encoding_only(response: HttpResponse) -> None:
    kept = [
        value.strip()
        for value in response.headers.get("Vary", "").split(",")
        if value.strip().lower() == "accept-encoding"
    ]
    if kept:
        response.headers["Vary"] = ", ".join(kept)
    elif "Vary" in response.headers:
        del response.headers["Vary"]
    response.headers.pop("Content-Language", None)


def content_security_policy(request: HttpRequest, form_targets: list[str] | None = None) -> str:
    """The policy for this request; `form_targets` are further origins a form may lead to (the
    sign-in page's single sign-on buttons post here and are redirected to the agency's
    identity provider, which form-action governs too)."""
    policy = CONTENT_SECURITY_POLICY.format(websocket=_websocket_origin(request))
    if form_targets:
        targets = " ".join(sorted(set(form_targets)))
        policy = policy.replace("form-action 'self'", f"form-action 'self' {targets}")
    return policy


def _websocket_origin(request: HttpRequest) -> str:
    """The site's own WebSocket origin; none for a Host header the site does not serve (its
    refusal gets the headers all the same)."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    scheme = "wss" if request.is_secure() else "ws"
    return f" {scheme}://{host}"
