"""The agency's look as the browser fetches it: its colours as a style sheet, its logo."""

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from videotermin.agencies.logos import EXTENSIONS
from videotermin.agencies.models import Logo
from videotermin.lib.headers import same_for_everybody

# Both URLs name exactly what they serve (the colours, the logo's hash): cache them for good.
FOREVER = "public, max-age=31536000, immutable"


@require_safe
def colors(request: HttpRequest, colors: str, scope: str = ":root") -> HttpResponse:
    """The colours as CSS custom properties; the page's stylesheet does the rest.

    A style sheet of its own rather than a style attribute: the CSP allows styles only from
    the site itself.
    """
    primary, text = colors.split("-")
    response = HttpResponse(
        f"{scope}{{--brand:#{primary};--brand-text:#{text}}}\n", content_type="text/css"
    )
    response["Cache-Control"] = FOREVER
    return same_for_everybody(response)


@require_safe
def logo(request: HttpRequest, digest: str, extension: str) -> HttpResponse:
    found = Logo.objects.filter(digest=digest).values("data", "content_type").first()
    if found is None or EXTENSIONS.get(found["content_type"]) != extension:
        raise Http404
    response = HttpResponse(bytes(found["data"]), content_type=found["content_type"])
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = FOREVER
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, an SVG is a document: it may style itself and do nothing else.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    # E-mails show it too, from a webmail's origin.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return same_for_everybody(response)
