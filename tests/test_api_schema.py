"""The API holds to its own OpenAPI schema: Schemathesis sends every operation generated
requests, valid ones and broken ones, with a key that may write, and no answer is a server
error or differs from what the schema promises. Bounded to well under a minute."""

import json
import random
import time
import uuid

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

pytestmark = pytest.mark.django_db

# Examples per operation: with 13 operations the fuzzing takes about 25 seconds here.
EXAMPLES = 20
# Each operation's share of the minute the fuzzing may take: on a machine busy with other work
# an operation stops sending once its share is used (after AT_LEAST requests, whatever the
# time), so the run stays bounded and never fails for being slow.
SECONDS_PER_OPERATION = 3.5
AT_LEAST = 5
started: dict[str, float] = {}
sent: dict[str, int] = {}


# Besides the defaults, answers a valid request may get: 412 for a version that is not the
# current one, 422 for what the schema cannot know (an id that is not one of the agency's
# locations or staff, a start beyond the booking horizon); and 428, RFC 6585's answer to a
# missing If-Match, where a required header is left out.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "422", "429"]
            },
            "missing_required_header": {"expected-statuses": ["400", "401", "403", "422", "428"]},
        }
    }
)
# Loaded once, at collection, from the running application's own endpoint.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler(), config=CONFIG)


@pytest.fixture
def connections_kept_open():
    """The application is called as a WSGI server would, in the test's own transaction: its
    connection must outlive each request, as Django's test client arranges too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def real(
    connections_kept_open, api_key, interpreter_booking, location, counselor
) -> dict[str, str]:
    """The fuzzing key, and real objects of its agency for generated requests to meet."""
    olga, _token = interpreter_booking.extras[0]
    return {
        "key": api_key.value,
        "appointment_id": str(interpreter_booking.appointment.public_id),
        "member_id": str(olga.public_id),
        "location": str(location.public_id),
        "counselor": str(counselor.staff.public_id),
    }


def _real_ids_now_and_then(case, real: dict[str, str], chance: random.Random) -> None:
    """Half of the valid requests name the agency's real appointment, member, location and
    counselor (and any version), so that they reach the operations' work, not only their 404."""
    if case.meta is not None and not case.meta.generation.mode.is_positive:
        return
    if case.headers and "Idempotency-Key" in case.headers:
        # Generated keys repeat with other bodies (422 by design, tested on its own).
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    if chance.random() < 0.5:
        return
    for name in ("appointment_id", "member_id"):
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = real[name]
    if case.headers and "If-Match" in case.headers:
        case.headers["If-Match"] = "*"
    if isinstance(case.body, dict):
        for name in ("location", "counselor"):
            if name in case.body:
                case.body[name] = real[name]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says_and_never_with_a_server_error(case, real):
    operation = case.operation.label
    first = started.setdefault(operation, time.monotonic())
    if sent.get(operation, 0) >= AT_LEAST and time.monotonic() - first > SECONDS_PER_OPERATION:
        return
    sent[operation] = sent.get(operation, 0) + 1
    _real_ids_now_and_then(case, real, random.Random(repr(case.path_parameters)))
    # Uncompressed: the WSGI test transport does not undo GZipMiddleware's work.
    headers = {"Authorization": f"Bearer {real['key']}", "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers)


def test_the_schema_is_openapi_3_1_with_every_error_a_problem_document(client):
    document = json.loads(client.get("/api/v1/openapi.json").content)

    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert "401" in answers, (method, path)
            assert "429" in answers and "Retry-After" in answers["429"]["headers"]
            for status, answer in answers.items():
                kinds = set(answer.get("content", {}))
                if int(status) >= 400:
                    assert kinds == {"application/problem+json"}, (method, path, status)
                else:
                    assert kinds == {"application/json"}, (method, path, status)
            if method != "get":
                names = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
                assert "Idempotency-Key" in names, (method, path)
