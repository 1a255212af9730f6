"""A key reaches its own agency's data only: another agency's appointments and people do not
exist for it (404, as anything unknown), whatever the operation; a key that may only read
changes nothing (403). Every operation of the schema is covered, so a new one cannot slip by."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from tests.apiclient import booking_body

from videotermin.api.problems import CONTENT_TYPE
from videotermin.api.v1 import api as ninja_api
from videotermin.appointments.models import Appointment, Link, Member
from videotermin.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

APPOINTMENT = "/appointments/{appointment_id}"
MEMBER = APPOINTMENT + "/members/{member_id}"
GUARDIAN = {"role": "guardian", "name": "Gerd Vormund", "email": "gerd@example.org"}

# Every operation on one of an agency's appointments or people, with a body it would accept.
ON_OBJECTS = [
    ("get", APPOINTMENT, None),
    ("patch", APPOINTMENT, {"duration_minutes": 45}),
    ("post", APPOINTMENT + "/cancel", None),
    ("get", APPOINTMENT + "/members", None),
    ("post", APPOINTMENT + "/members", GUARDIAN),
    ("get", MEMBER, None),
    ("patch", MEMBER, {"language": "en"}),
    ("delete", MEMBER, None),
    ("post", MEMBER + "/link", None),
]
# Every operation that finds or makes things by itself.
ON_THE_AGENCY = [
    ("get", "/appointments", None),
    ("post", "/appointments", "booking"),
    ("get", "/locations", None),
    ("get", "/counselors", None),
    ("get", "/statistics", None),
    ("post", "/booking-links", {"name": "Dana Yilmaz", "email": "dana@example.org"}),
]


def schema_operations() -> set[tuple[str, str]]:
    paths = ninja_api.get_openapi_schema(path_prefix="")["paths"]
    return {(method, path) for path, methods in paths.items() for method in methods}


def test_the_tenancy_tests_cover_every_operation_of_the_schema():
    covered = {(method, path) for method, path, _body in ON_OBJECTS + ON_THE_AGENCY}

    assert covered == schema_operations()


def snapshot() -> str:
    """Everything the operations could change."""
    rows = [
        list(Appointment.objects.order_by("pk").values()),
        list(Member.objects.order_by("pk").values()),
        list(Link.objects.order_by("pk").values_list("token_hash", "revoked_at")),
    ]
    return json.dumps(rows, default=str)


@pytest.fixture
def danas(interpreter_booking):
    """Dana's appointment with Olga, of the agency; its ids as a path names them."""
    olga, _token = interpreter_booking.extras[0]
    return {
        "appointment_id": interpreter_booking.appointment.public_id,
        "member_id": olga.public_id,
    }


@pytest.mark.parametrize(("method", "path", "body"), ON_OBJECTS, ids=lambda v: str(v))
def test_a_key_of_another_agency_never_reaches_this_agencys_appointments_or_people(
    other_api, danas, method, path, body
):
    before = snapshot()
    mail.outbox.clear()

    response = other_api.call(method, path.format(**danas), body, if_match="*")

    assert response.status_code == 404, response.content
    assert response["Content-Type"] == CONTENT_TYPE
    assert json.loads(response.content)["type"] == "/api/v1/problems/not-found"
    assert "Dana" not in response.content.decode()
    assert snapshot() == before
    assert mail.outbox == []
    # The probe is in the prober's own agency's log, and in nobody else's.
    probe = AuditEntry.objects.get(action="videotermin.api.refused")
    assert probe.agency.slug == "anderswo"
    assert (probe.data["status"], probe.data["problem"]) == (404, "not-found")


def test_a_key_of_another_agency_finds_none_of_this_agencys_appointments_locations_or_staff(
    other_api, danas, location, counselor
):
    day = timezone.localdate()

    listed = [
        other_api.get("/appointments").json(),
        other_api.get("/appointments", {"day": day.isoformat()}).json(),
        other_api.get("/appointments", {"location": str(location.public_id)}).json(),
        other_api.get("/locations").json(),
        other_api.get("/counselors").json(),
    ]

    text = json.dumps(listed)
    for ours in (danas["appointment_id"], location.public_id, counselor.staff.public_id):
        assert str(ours) not in text
    assert listed[0]["count"] == listed[1]["count"] == listed[2]["count"] == 0


def test_a_key_of_another_agency_cannot_book_at_this_agencys_location_or_with_its_staff(
    other_api, location, counselor
):
    starts = timezone.now() + timedelta(days=1)

    response = other_api.post("/appointments", booking_body(location, counselor, starts))

    assert response.status_code == 422
    assert json.loads(response.content)["errors"][0]["location"] == "body.location"
    assert not Appointment.objects.exists()


WRITES = [(m, p, b) for m, p, b in ON_OBJECTS + ON_THE_AGENCY if m != "get"]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=lambda v: str(v))
def test_a_read_only_key_changes_nothing_and_gets_403(
    read_only_api, danas, location, counselor, method, path, body
):
    if body == "booking":
        body = booking_body(location, counselor, timezone.now() + timedelta(days=1))
    before = snapshot()

    response = read_only_api.call(method, path.format(**danas), body, if_match="*")

    assert response.status_code == 403, response.content
    assert json.loads(response.content)["type"] == "/api/v1/problems/forbidden"
    assert snapshot() == before
    refused = AuditEntry.objects.get(action="videotermin.api.refused")
    assert (refused.data["method"], refused.data["status"]) == (method.upper(), 403)


@pytest.mark.parametrize(
    ("method", "path"),
    [(m, p) for m, p, _b in ON_OBJECTS + ON_THE_AGENCY if m == "get"],
    ids=lambda v: str(v),
)
def test_a_read_only_key_reads_everything_of_its_agency(read_only_api, danas, method, path):
    response = read_only_api.get(path.format(**danas))

    assert response.status_code == 200, response.content
