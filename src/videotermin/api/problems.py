"""Every refusal of the API as an RFC 9457 problem: `application/problem+json` with type,
title, status and detail, in German or English as the caller's Accept-Language asks.

The `type` is a URI reference under /api/v1/problems/; docs/api.md lists them all.
"""

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import parse_accept_lang_header

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"
LANGUAGES = ("de", "en")

# slug -> (status, title)
TYPES: dict[str, tuple[int, Any]] = {
    "invalid-body": (400, _("The body is not readable JSON")),
    "idempotency-key-missing": (400, _("Idempotency-Key missing")),
    "unauthorized": (401, _("Authentication required")),
    "forbidden": (403, _("Not allowed with this key")),
    "not-found": (404, _("Not found")),
    "method-not-allowed": (405, _("Method not allowed")),
    "conflict": (409, _("The change is not possible")),
    "idempotency-answer-sealed": (409, _("The stored answer cannot be opened with this secret")),
    "precondition-failed": (412, _("The resource has changed")),
    "body-too-large": (413, _("The body is too large")),
    "validation": (422, _("The request is not valid")),
    "idempotency-key-reused": (422, _("Idempotency-Key used for another request")),
    "precondition-required": (428, _("If-Match missing")),
    "rate-limited": (429, _("Too many requests")),
    "server-error": (500, _("Internal error")),
}


class Problem(Exception):
    """A refusal the API answers with a problem document."""

    def __init__(
        self,
        slug: str,
        detail: Any,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(slug)
        self.slug = slug
        self.status = TYPES[slug][0]
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def api_language(request: HttpRequest) -> str:
    """The first of German and English that Accept-Language asks for, else the site's default."""
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        primary = code.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in LANGUAGES else "en"


def problem_response(request: HttpRequest, problem: Problem) -> HttpResponse:
    status, title = TYPES[problem.slug]
    body = {
        "type": TYPE_BASE + problem.slug,
        "title": str(title),
        "status": status,
        "detail": str(problem.detail),
        "instance": request.path,
        **problem.extensions,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )
    for name, value in problem.headers.items():
        response[name] = value
    return response


def not_found(detail: Any = None) -> Problem:
    return Problem(
        "not-found",
        detail or _("There is no such resource, or it belongs to another agency."),
    )


def nothing_here(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any address under /api/ the API does not have."""
    return problem_response(request, Problem("not-found", _("There is nothing at this address.")))


def not_allowed(request: HttpRequest, allowed: list[str]) -> HttpResponse:
    methods = ", ".join(sorted(allowed))
    problem = Problem(
        "method-not-allowed",
        gettext("%(method)s is not allowed here; allowed: %(allowed)s.")
        % {"method": request.method, "allowed": methods},
        headers={"Allow": methods},
    )
    return problem_response(request, problem)


def server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(
        request,
        Problem(
            "server-error",
            _(
                "The request failed because of an error on our side. Try again later; with "
                "the same Idempotency-Key a change is made only once."
            ),
        ),
    )


# Pydantic's error types in words; anything else is "not valid".
_MESSAGES: dict[str, Any] = {
    "missing": _("This field is required."),
    "extra_forbidden": _("This field is not known."),
    "string_type": _("Give a text."),
    "string_too_short": _("This text is too short."),
    "string_too_long": _("This text is too long."),
    "string_pattern_mismatch": _("This text has the wrong form."),
    "int_type": _("Give a whole number."),
    "int_parsing": _("Give a whole number."),
    "bool_type": _("Give true or false."),
    "greater_than_equal": _("This number is too small."),
    "less_than_equal": _("This number is too large."),
    "literal_error": _("This value is not one of those allowed."),
    "enum": _("This value is not one of those allowed."),
    "uuid_parsing": _("Give an id as the API returns it."),
    "uuid_type": _("Give an id as the API returns it."),
    "datetime_parsing": _("Give a date and time with its offset, as in RFC 3339."),
    "datetime_type": _("Give a date and time with its offset, as in RFC 3339."),
    "timezone_aware": _("Give the time with its offset from UTC (for example +01:00)."),
    "date_parsing": _("Give a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": _("Give a date as YYYY-MM-DD."),
    "date_type": _("Give a date as YYYY-MM-DD."),
    "dict_type": _("Give a JSON object."),
    "model_type": _("Give a JSON object."),
    "model_attributes_type": _("Give a JSON object."),
    "list_type": _("Give a JSON array."),
    "too_long": _("This list is too long."),
    "too_short": _("This list is too short."),
    "value_error": _("This value is not valid."),
    "email": _("Give an e-mail address."),
    "year_out_of_range": _("Give a time between the years 2000 and 2100."),
}


def _location(loc: Any) -> str:
    parts = [str(part) for part in loc]
    # Ninja nests a body under its parameter's name; the caller knows no such level.
    if parts[:2] == ["body", "body"]:
        del parts[1]
    return ".".join(parts)


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    """Ninja's (pydantic's) errors as one problem; a missing Idempotency-Key or If-Match header
    gets its own problem (400, 428), as the Idempotency-Key draft and RFC 6585 describe."""
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "missing" and loc[:1] == ("header",):
            if loc[-1] == "Idempotency-Key":
                return idempotency_key_missing()
            if loc[-1] == "If-Match":
                return precondition_required()
    items = []
    for error in errors:
        kind = str(error.get("type", ""))
        message = _MESSAGES.get(kind)
        if kind == "value_error" and error.get("ctx", {}).get("translated"):
            message = error["ctx"]["translated"]
        items.append(
            {
                "location": _location(error.get("loc", ())),
                "type": kind,
                "message": str(message or _("This value is not valid.")),
            }
        )
    detail = ngettext(
        "%(count)d value of the request is not valid.",
        "%(count)d values of the request are not valid.",
        len(items),
    ) % {"count": len(items)}
    return Problem("validation", detail, errors=items)


def invalid(location: str, message: Any) -> Problem:
    """One value of the request the API refuses after reading it (a location of another agency,
    a start beyond the booking horizon)."""
    return Problem(
        "validation",
        ngettext(
            "%(count)d value of the request is not valid.",
            "%(count)d values of the request are not valid.",
            1,
        )
        % {"count": 1},
        errors=[{"location": location, "type": "value_error", "message": str(message)}],
    )


def idempotency_key_missing() -> Problem:
    return Problem(
        "idempotency-key-missing",
        _(
            "Every POST, PATCH and DELETE needs an Idempotency-Key header: a value of your own "
            "for each change you intend, such as a UUID, sent again unchanged with every retry."
        ),
    )


def precondition_required() -> Problem:
    return Problem(
        "precondition-required",
        _("A change with PATCH needs an If-Match header with the ETag of your last read."),
    )


def api_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Around every view of the API: its language, and problems for what Django or ninja would
    answer otherwise (a 404 outside an operation, a method not allowed)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = api_language(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                response = problem_response(request, body_too_large())
            else:
                try:
                    response = view(request, *args, **kwargs)
                except Http404:
                    response = problem_response(request, not_found())
                if response.status_code == 405 and response.get("Content-Type") != CONTENT_TYPE:
                    allowed = [m.strip() for m in response.get("Allow", "").split(",") if m]
                    response = not_allowed(request, allowed)
        response["Content-Language"] = language
        patch_vary_headers(response, ["Accept-Language"])
        return response

    return wrapper


def body_too_large() -> Problem:
    return Problem(
        "body-too-large",
        gettext("The API reads bodies of at most %(bytes)d bytes.")
        % {"bytes": settings.API_MAX_BODY_BYTES},
    )


def invalid_body() -> Problem:
    return Problem(
        "invalid-body",
        _(
            "The body must be one JSON object in UTF-8: finite numbers only, every key once, "
            "no NUL character, nested at most six levels deep."
        ),
    )
