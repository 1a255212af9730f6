"""The pages of every error a person can meet: branded, in their language, with what to do next.

They are rendered without the request's context processors: a page for an error must not fail
itself (the database may be what failed) nor use up the messages meant for the next page. Their
addresses may carry a link's participant id or whatever was typed, so no referrer leaves them.
"""

import re

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

# The citizen's pages: /a/<participant id>/…, and the survey's /survey/<participant id>/.
_PARTICIPANT_PAGE = re.compile(r"^/(?:a|survey)/(?P<participant>[0-9a-fA-F-]{36})/")


def page(
    request: HttpRequest,
    status: int,
    title: str,
    paragraphs: list[str],
    links: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    """An error page; as JSON for the pages' own fetch() calls, which show the message."""
    if _wants_json(request):
        response: HttpResponse = JsonResponse({"error": " ".join([title, *paragraphs])})
    else:
        context = {"title": title, "paragraphs": paragraphs, "links": links or []}
        response = HttpResponse(render_to_string("errors/page.html", context))
    response.status_code = status
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _wants_json(request: HttpRequest) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    content_type = request.META.get("CONTENT_TYPE", "")
    return "application/json" in accept or content_type.startswith("application/json")


def _host(request: HttpRequest) -> str | None:
    try:
        return request.get_host()
    except DisallowedHost:
        return None


def _way_back(request: HttpRequest) -> str:
    """The page the person came from, if it is ours; else the start page."""
    referer = request.META.get("HTTP_REFERER", "")
    host = _host(request)
    if host and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    ):
        return referer
    return "/"


def _start_again(request: HttpRequest) -> list[tuple[str, str]]:
    """Where to begin anew: the participant's own start page, the staff sign-in, or home."""
    found = _PARTICIPANT_PAGE.match(request.path)
    if found:
        start = reverse("journey:start", args=[found["participant"]])
        return [(start, _("Back to your appointment"))]
    if request.path.startswith("/staff/"):
        try:
            return [(reverse(settings.LOGIN_URL), _("Sign in again"))]
        except NoReverseMatch:
            pass
    return [("/", _("To the start page"))]


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return page(
            request,
            400,
            _("Your input was too large"),
            [
                _(
                    "What you sent is larger than this site accepts, so it was not saved. "
                    "Nothing has changed."
                ),
                _(
                    "Go back with your browser's back button: your input is usually still "
                    "there. Shorten it, for example a long text, and send it again."
                ),
            ],
            [(_way_back(request), _("Back to the page"))],
        )
    return page(
        request,
        400,
        _("The request could not be processed"),
        [
            _("The browser sent something this site cannot read, so nothing was saved."),
            _("Please go back and try again. If it happens again, open the page anew."),
        ],
        [(_way_back(request), _("Back to the page"))],
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return page(
        request,
        403,
        _("You may not open this page"),
        [
            _(
                "If you were invited to a video appointment, please open the personal link "
                "from your invitation e-mail, in this browser."
            ),
            _("If you work for the agency, please sign in to the staff workspace."),
        ],
        _start_again(request),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return page(
        request,
        404,
        _("Page not found"),
        [
            _(
                "There is no page at this address. If you copied the address, please check "
                "that you copied all of it."
            ),
            _(
                "If you were invited to a video appointment, please open the personal link "
                "from your invitation e-mail, in this browser."
            ),
        ],
        [("/", _("To the start page"))],
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return page(
        request,
        500,
        _("Something went wrong on our side"),
        [
            _("The page could not be shown because of an error on our side, not yours."),
            _("Please try again in a few minutes."),
            _(
                "If you have an appointment and it still does not work, please contact the "
                "agency that invited you. Their contact details are in the invitation e-mail."
            ),
        ],
        [(request.path if request.method == "GET" else "/", _("Try again"))],
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form came without the cookie this site set with the page: it was blocked or lost."""
    return page(
        request,
        403,
        _("Please allow cookies for this site"),
        [
            _(
                "For your protection, this form works only together with a cookie that this "
                "site set when the page was opened. Your browser did not send it back, so "
                "nothing was saved."
            ),
            _(
                "This happens when cookies are blocked for this site, when the page was open "
                "for a very long time, or when it was opened in another browser."
            ),
            _(
                "Please allow cookies for this site; it sets only the cookies it needs to work, "
                "none for tracking. Then open the page again and send the form anew. If you "
                "were invited to a video appointment, open the personal link from your "
                "invitation e-mail again."
            ),
        ],
        _start_again(request),
    )
