"""Generated garbage at every form and JSON endpoint: the site answers, refuses, and keeps its data.

A stranger's script, a broken browser or a curious citizen may send anything: NaN and Infinity,
a thousand levels of nesting, megabytes of text, the wrong types, random bytes, the wrong
content type. Whatever comes, the answer is never a server error, the log holds no traceback,
and what was refused changed nothing in the database.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.personas import agree

from videotermin.appointments.models import Appointment, Link, Member
from videotermin.audit.models import AuditEntry
from videotermin.consent.models import ConsentDecision
from videotermin.survey.models import SurveyResponse

FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TABLES = (Appointment, Member, Link, AuditEntry, ConsentDecision, SurveyResponse)

# What no parser should choke on.
DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECTS = '{"a":' * 1000 + "1" + "}" * 1000
NASTY_JSON = [
    "NaN",
    "Infinity",
    "-Infinity",
    '{"result": NaN}',
    '{"result": "green", "details": {"rtt": Infinity}}',
    '{"result": "green", "details": {"rtt": 1e999}}',
    '{"result": "green", "details": {"rtt": 1' + "0" * 5000 + "}}",
    '{"result": "green", "details": {"note": "\\u0000"}}',
    '{"result": "green", "details": {"note": "\\ud800"}}',
    '{"result": "green", "result": "red"}',
    '{"type": "offer", "sdp": NaN}',
    '{"type": "offer", "sdp": "v=0\\r\\n"}',
    '{"type": "offer", "sdp": ["v=0"]}',
    DEEP,
    DEEP_OBJECTS,
    '{"details": ' + DEEP + "}",
    '"' + "x" * 100_000 + '"',
    "",
    "null",
    "[]",
    "{",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=nothing",
    "application/octet-stream",
    "",
]
THREE_MEGABYTES = "x" * (3 * 1024 * 1024)

# JSON values of the wrong shapes and types, floats including NaN and infinities.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner),
    max_leaves=20,
)
readable = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)


@st.composite
def raw_bodies(draw) -> tuple[bytes, str]:
    """A body and its content type: broken JSON, generated JSON, random bytes, a huge text."""
    kind = draw(st.sampled_from(["nasty", "json", "bytes", "huge"]))
    if kind == "nasty":
        body = draw(st.sampled_from(NASTY_JSON)).encode()
    elif kind == "json":
        body = json.dumps(draw(json_values)).encode()  # writes NaN and Infinity as they are
    elif kind == "bytes":
        body = draw(st.binary(max_size=2048))
    else:
        body = THREE_MEGABYTES.encode()
    return body, draw(st.sampled_from(CONTENT_TYPES))


def form_fields(names: list[str]):
    """Form data: the real fields (and strangers) with text, lists, huge or NUL-laden values."""
    values = (
        readable
        | st.lists(readable, max_size=3)
        | st.sampled_from(["\x00", "NaN", "-1", "9" * 400, "2026-13-45T25:61", THREE_MEGABYTES])
    )
    keys = st.sampled_from(names) | st.text(min_size=1, max_size=20)
    return st.dictionaries(keys, values, max_size=len(names) + 2)


def rows() -> dict[str, int]:
    return {table.__name__: table.objects.count() for table in TABLES}


@dataclass
class Endpoint:
    browser: Client
    url: str
    succeeded: Callable = lambda response: response.status_code == 302

    def post_raw(self, body: bytes, content_type: str, **headers):
        return self.browser.generic("POST", self.url, body, content_type, **headers)


def answered_calmly(response, caplog, before: dict[str, int], endpoint: Endpoint) -> None:
    assert response.status_code < 500, response.content[:500]
    tracebacks = [r for r in caplog.records if r.exc_info or r.exc_text]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
    # A refused body from a client is logged in one line by django.security; nothing else may
    # be an error.
    errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and not r.name.startswith("django.security.")
    ]
    assert not errors, [r.getMessage() for r in errors]
    if not endpoint.succeeded(response):
        assert rows() == before
    caplog.clear()


# The browsers


def participant_url(name: str, participant) -> str:
    return reverse(name, args=[participant.public_id])


@pytest.fixture
def dana(booking):
    """Dana's browser: she opened her link and agreed; she is on her device check."""
    agree(booking.citizen)
    browser = Client()
    browser.get(reverse("journey:link", args=[booking.token]))
    return browser


@pytest.fixture
def dana_on_her_start_page(booking):
    """Dana's browser, before she decided about the consent text."""
    browser = Client()
    browser.get(reverse("journey:link", args=[booking.token]))
    return browser


@pytest.fixture
def dana_after_the_call(booking):
    """Dana's browser after her consultation ended: the survey is open to her."""
    browser = Client()
    browser.get(reverse("journey:link", args=[booking.token]))
    now = timezone.now()
    Appointment.objects.filter(pk=booking.appointment.pk).update(
        call_started_at=now, call_ended_at=now
    )
    return browser


@pytest.fixture
def alice(counselor):
    browser = Client()
    browser.force_login(counselor)
    return browser


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO)
    return caplog


# The citizen's JSON endpoints


def json_endpoints(dana, citizen) -> list[Endpoint]:
    stored = lambda response: response.status_code == 200  # noqa: E731
    return [
        Endpoint(dana, participant_url("journey:check_result", citizen), stored),
        Endpoint(dana, participant_url("checks:echo", citizen), stored),
        Endpoint(dana, participant_url("checks:echo_stop", citizen), stored),
        Endpoint(dana, participant_url("checks:upload", citizen), stored),
    ]


@FUZZ
@given(body=raw_bodies(), which=st.integers(0, 3))
def test_danas_check_endpoints_refuse_any_garbage_calmly(dana, citizen, log, body, which):
    endpoint = json_endpoints(dana, citizen)[which]
    before = rows()
    response = endpoint.post_raw(*body)
    answered_calmly(response, log, before, endpoint)
    if endpoint.url.endswith("/result/") and response.status_code >= 400:
        assert "error" in response.json()
        citizen.refresh_from_db()
        assert citizen.check_result == ""


@pytest.mark.parametrize("body", ["NaN", DEEP, DEEP_OBJECTS, '{"result": "green", "x": 1e999}'])
@pytest.mark.parametrize("name", ["journey:check_result", "checks:echo"])
def test_nan_and_deep_nesting_get_a_clear_refusal_in_danas_language(dana, citizen, log, name, body):
    response = dana.post(participant_url(name, citizen), body, content_type="application/json")
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith(("Das Prüfergebnis", "Der Testanruf")), message
    assert not [r for r in log.records if r.levelno >= logging.ERROR]


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["bytes", "x"]), readable, max_size=2))
def test_the_network_checks_download_takes_any_query_calmly(dana, citizen, log, query):
    endpoint = Endpoint(dana, participant_url("checks:download", citizen))
    before = rows()
    response = dana.get(endpoint.url, query)
    answered_calmly(response, log, before, endpoint)


# The citizen's forms


@FUZZ
@given(data=form_fields(["decision", "text"]))
def test_the_consent_form_refuses_garbage_and_records_no_decision(
    dana_on_her_start_page, citizen, log, data
):
    endpoint = Endpoint(dana_on_her_start_page, participant_url("journey:consent", citizen))
    before = rows()
    response = dana_on_her_start_page.post(endpoint.url, data)
    answered_calmly(response, log, before, endpoint)


@FUZZ
@given(body=raw_bodies())
def test_the_consent_form_takes_any_body_calmly(dana_on_her_start_page, citizen, log, body):
    endpoint = Endpoint(dana_on_her_start_page, participant_url("journey:consent", citizen))
    before = rows()
    answered_calmly(endpoint.post_raw(*body), log, before, endpoint)


@FUZZ
@given(data=form_fields(["easy_to_use", "would_recommend", "next_mode"]), body=raw_bodies())
def test_the_survey_takes_any_answer_calmly(dana_after_the_call, citizen, log, data, body):
    endpoint = Endpoint(dana_after_the_call, participant_url("survey:start", citizen))
    before = rows()
    answered_calmly(dana_after_the_call.post(endpoint.url, data), log, before, endpoint)
    before = rows()
    answered_calmly(endpoint.post_raw(*body), log, before, endpoint)


# Alice's forms in the staff workspace

APPOINTMENT_FIELDS = [
    "citizen_name",
    "citizen_email",
    "language",
    "customer_number",
    "location",
    "starts_at",
    "duration_minutes",
    "extra-TOTAL_FORMS",
    "extra-INITIAL_FORMS",
    "extra-0-role",
    "extra-0-email",
]
PERSON_FIELDS = ["role", "name", "email", "language"]


def staff_endpoints(alice, interpreter_booking) -> list[tuple[Endpoint, list[str]]]:
    appointment = interpreter_booking.appointment.public_id
    olga = interpreter_booking.extras[0][0].public_id
    return [
        (Endpoint(alice, reverse("staff:create")), APPOINTMENT_FIELDS),
        (Endpoint(alice, reverse("staff:edit", args=[appointment])), APPOINTMENT_FIELDS),
        (Endpoint(alice, reverse("staff:people", args=[appointment])), PERSON_FIELDS),
        (Endpoint(alice, reverse("staff:edit_member", args=[appointment, olga])), PERSON_FIELDS),
    ]


@FUZZ
@given(which=st.integers(0, 3), data=st.data(), wants_json=st.booleans())
def test_alices_forms_refuse_garbage_and_change_nothing(
    alice, interpreter_booking, log, which, data, wants_json
):
    endpoint, fields = staff_endpoints(alice, interpreter_booking)[which]
    form = data.draw(form_fields(fields))
    before = rows()
    accept = "application/json" if wants_json else "text/html"
    response = alice.post(endpoint.url, form, HTTP_ACCEPT=accept)
    answered_calmly(response, log, before, endpoint)


@FUZZ
@given(which=st.integers(0, 3), body=raw_bodies())
def test_alices_forms_take_any_body_calmly(alice, interpreter_booking, log, which, body):
    endpoint, _fields = staff_endpoints(alice, interpreter_booking)[which]
    before = rows()
    answered_calmly(endpoint.post_raw(*body), log, before, endpoint)
