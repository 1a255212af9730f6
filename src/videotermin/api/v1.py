"""The integration API, version 1: one NinjaAPI with its routers, its strict JSON parser, and
problem details for every error (docs/api.md).

Another app adds its operations by mounting a router here, before the URLs are built:
`api.add_router("/booking-links", booking_router)`, its operations guarded by
`videotermin.api.auth.ApiKeyAuth`.
"""

import logging
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from videotermin.api import endpoints
from videotermin.api.problems import (
    CONTENT_TYPE,
    Problem,
    body_too_large,
    invalid_body,
    not_found,
    problem_response,
    server_error,
    validation_problem,
)
from videotermin.appointments.services import NotAllowed
from videotermin.audit.services import record
from videotermin.booking import api as booking_api
from videotermin.lib.jsonbody import BodyError, read_json
from videotermin.stats import api as stats_api

logger = logging.getLogger(__name__)


class StrictParser(Parser):
    """Bodies by the rules of every JSON endpoint (lib/jsonbody.py): size first, finite numbers,
    no key twice, no NUL, six levels at most."""

    def parse_body(self, request: HttpRequest) -> Any:
        return read_json(request, settings.API_MAX_BODY_BYTES)


class Api(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """Ninja's schema, with errors as `application/problem+json` and the headers the
        answers carry."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                for status, answer in operation.get("responses", {}).items():
                    _describe(method, int(status), answer)
        return schema


def _header(description: str, required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def _describe(method: str, status: int, answer: dict[str, Any]) -> None:
    content = answer.get("content", {})
    if status >= 400:
        if content:
            answer["content"] = {CONTENT_TYPE: next(iter(content.values()))}
        if status == 429:
            answer["headers"] = {"Retry-After": _header("Seconds until the key may call again.")}
        if status == 405:
            answer["headers"] = {"Allow": _header("The methods this address allows.")}
        return
    headers = {}
    if status == 201:
        headers["Location"] = _header("The address of the new resource.", required=False)
    if method in ("get", "patch", "post", "delete") and status in (200, 201):
        headers["ETag"] = _header("The version of the resource, for If-Match.", required=False)
    if headers:
        answer["headers"] = headers


api = Api(
    title="videotermin",
    version="1",
    description=(
        "The integration API for an agency's appointment system: book, change and cancel "
        "video consultations, invite people, read states. Authentication, idempotency, ETags, "
        "errors and limits: docs/api.md."
    ),
    urls_namespace="api-v1",
    # The page loads Swagger UI from this server (ninja's own copies), nothing from elsewhere.
    docs=Swagger(settings={"validatorUrl": None}),
    parser=StrictParser(),
)
api.add_router("", endpoints.router)
api.add_router("", endpoints.directory)
api.add_router("", booking_api.router)
api.add_router("", stats_api.router)


def _refuse(request: HttpRequest, problem: Problem) -> HttpResponse:
    """The problem's answer; a refusal of a known key's call is audited under the key (not the
    rate limit's: a flood must not flood the log too)."""
    key = getattr(request, "api_key", None)
    if key is not None and problem.status not in (401, 429):
        record(
            "api.refused",
            agency=key.agency,
            by=key.actor(),
            method=request.method or "",
            path=request.path,
            status=problem.status,
            problem=problem.slug,
        )
    return problem_response(request, problem)


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return _refuse(request, exc)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return _refuse(request, validation_problem(exc.errors))


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    problem = Problem(
        "unauthorized",
        _("Send a working API key of your agency: Authorization: Bearer vtk_…"),
        headers={"WWW-Authenticate": 'Bearer realm="videotermin"'},
    )
    return problem_response(request, problem)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, BodyError):
        return _refuse(request, body_too_large() if cause.too_large else invalid_body())
    if exc.status_code == 400:
        return _refuse(request, invalid_body())
    logger.error("unexpected HttpError %s in the API", exc.status_code)
    return server_error(request)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _refuse(request, not_found())


@api.exception_handler(NotAllowed)
def _not_allowed(request: HttpRequest, exc: NotAllowed) -> HttpResponse:
    return _refuse(request, Problem("conflict", str(exc)))


@api.exception_handler(Exception)
def _failed(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API operation failed")
    return server_error(request)
