"""An agency's appointment system books, reads, changes and cancels appointments through the
API, invites and removes people, and gets their personal links once; every refusal is a
problem document in German or English."""

import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from tests.apiclient import ApiCaller, booking_body, token_of
from tests.personas import agree, interpreter_invitee

from videotermin.agencies.models import Location
from videotermin.api.problems import CONTENT_TYPE
from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment, Link, Member, Status
from videotermin.audit.models import AuditEntry
from videotermin.lib.tokens import hash_token

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate(timezone.now(), BERLIN) + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def problem(response, status: int, slug: str) -> dict:
    """The response is this problem, as RFC 9457 describes it."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == CONTENT_TYPE
    body = json.loads(response.content)
    assert body["type"] == f"/api/v1/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def booked(api, location, counselor):
    """Dana's appointment tomorrow at 9:30 with Olga as interpreter, booked through the API."""
    response = api.post("/appointments", booking_body(location, counselor, tomorrow_at(9, 30)))
    assert response.status_code == 201, response.content
    return response


def appointment_path(booked) -> str:
    return f"/appointments/{booked.json()['id']}"


def test_an_appointment_system_books_an_appointment_with_an_interpreter_and_gets_each_link_once(
    api, api_key, location, counselor
):
    starts = tomorrow_at(9, 30)
    response = api.post("/appointments", booking_body(location, counselor, starts))

    assert response.status_code == 201
    body = response.json()
    appointment = Appointment.objects.get(public_id=body["id"])
    assert response["Location"] == f"/api/v1/appointments/{appointment.public_id}"
    assert response["ETag"].startswith('"')
    assert body["state"] == "invited"
    assert body["counselor"] == str(counselor.staff.public_id)
    assert body["location"] == str(location.public_id)
    assert datetime.fromisoformat(body["starts_at"]) == starts
    assert body["duration_minutes"] == 30
    people = {m["role"]: m for m in body["members"]}
    assert people["citizen"]["name"] == "Dana Yilmaz"
    assert people["citizen"]["language"] == "tr"
    assert people["citizen"]["customer_number"] == "123D456789"
    assert people["citizen"]["state"] == "invited"
    assert people["interpreter"]["language"] == "uk"
    assert people["interpreter"]["customer_number"] is None
    assert people["host"]["counselor"] == str(counselor.staff.public_id)
    assert people["host"]["name"] is None
    # Each invited person's link opens exactly their own pages; only its hash is stored.
    links = {link["role"]: link for link in body["links"]}
    assert set(links) == {"citizen", "interpreter"}
    for role in ("citizen", "interpreter"):
        token = token_of(links[role]["link"])
        assert links[role]["link"].startswith("http")
        assert str(appointments.resolve_link(token).public_id) == people[role]["id"]
        assert Link.objects.filter(token_hash=hash_token(token)).exists()
    # Everyone invited got their e-mail; the booking is in the log under the key.
    assert sorted(message.to[0] for message in mail.outbox) == [
        "dana@example.org",
        "olga@example.org",
    ]
    entry = AuditEntry.objects.get(action="videotermin.appointment.created")
    assert entry.actor_ref == f"apikey:{api_key.key.public_id}"
    assert entry.actor is None


def test_a_system_books_without_cookies_or_a_csrf_token(api_key, location, counselor):
    strict = ApiCaller(Client(enforce_csrf_checks=True), api_key.value)

    response = strict.post("/appointments", booking_body(location, counselor, tomorrow_at(9)))

    assert response.status_code == 201, response.content


def test_a_booking_without_invitations_sends_no_email_and_leaves_the_links_to_the_system(
    api, location, counselor
):
    body = booking_body(location, counselor, tomorrow_at(10), send_invitation=False)
    response = api.post("/appointments", body)

    assert response.status_code == 201
    assert len(response.json()["links"]) == 2
    assert mail.outbox == []


def test_reading_an_appointment_shows_every_member_with_state_and_presence_and_is_audited(
    api, booked
):
    citizen = Member.objects.get(public_id=booked.json()["links"][0]["member"])
    agree(citizen)
    Member.objects.filter(pk=citizen.pk).update(presence=Member.Presence.WAITING)

    response = api.get(appointment_path(booked))

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "waiting"
    dana = next(m for m in body["members"] if m["role"] == "citizen")
    assert dana["state"] == "consented"
    assert dana["presence"] == "waiting"
    assert "links" not in body
    assert response["ETag"] != booked["ETag"]
    assert AuditEntry.objects.filter(
        action="videotermin.api.appointment_read", appointment__public_id=body["id"]
    ).exists()


def test_the_etag_of_a_booking_is_the_etag_of_its_next_read_while_nothing_changed(api, booked):
    assert api.get(appointment_path(booked))["ETag"] == booked["ETag"]


def test_a_booking_with_a_location_or_counselor_of_another_agency_is_refused_naming_the_field(
    api, location, counselor, outsider
):
    elsewhere = Location.objects.get(agency=outsider.staff.agency)
    at_theirs = booking_body(elsewhere, counselor, tomorrow_at(9))
    with_theirs = booking_body(location, outsider, tomorrow_at(9))

    refused = [api.post("/appointments", at_theirs), api.post("/appointments", with_theirs)]

    fields = [problem(r, 422, "validation")["errors"][0]["location"] for r in refused]
    assert fields == ["body.location", "body.counselor"]
    assert not Appointment.objects.exists()


def test_a_booking_with_a_deactivated_counselor_is_refused_naming_the_field(
    api, location, counselor
):
    counselor.is_active = False
    counselor.save()

    response = api.post("/appointments", booking_body(location, counselor, tomorrow_at(9)))

    assert problem(response, 422, "validation")["errors"][0]["location"] == "body.counselor"


def test_a_booking_beyond_the_horizon_or_at_a_closed_location_is_refused(
    api, location, counselor, settings
):
    far = timezone.now() + timedelta(days=settings.BOOKING_HORIZON_DAYS + 2)
    too_far = api.post("/appointments", booking_body(location, counselor, far))
    Location.objects.filter(pk=location.pk).update(active=False)
    closed = api.post("/appointments", booking_body(location, counselor, tomorrow_at(9)))

    assert problem(too_far, 422, "validation")["errors"][0]["location"] == "body.starts_at"
    error = problem(closed, 422, "validation")["errors"][0]
    assert error["location"] == "body.location"
    assert "closed" in error["message"]
    assert not Appointment.objects.exists()


def test_a_list_finds_the_agencys_appointments_by_day_location_and_state_in_pages(
    api, book, location, agency, counselor
):
    second = Location.objects.create(agency=agency, name="Musterstadt Nord")
    morning = book(starts_at=tomorrow_at(8)).appointment
    noon = book(starts_at=tomorrow_at(12)).appointment
    north = book(starts_at=tomorrow_at(14)).appointment
    Appointment.objects.filter(pk=north.pk).update(location=second)
    cancelled = book(starts_at=tomorrow_at(16)).appointment
    appointments.cancel_appointment(cancelled, by=counselor)
    book(starts_at=tomorrow_at(9) + timedelta(days=1))
    day = tomorrow_at(0).date().isoformat()

    def ids(**params) -> list[str]:
        response = api.get("/appointments", params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert ids(day=day) == [str(a.public_id) for a in (morning, noon, north, cancelled)]
    assert ids(day=day, location=str(second.public_id)) == [str(north.public_id)]
    assert ids(day=day, state="cancelled") == [str(cancelled.public_id)]
    assert ids(day=day, state="invited") == [str(a.public_id) for a in (morning, noon, north)]
    page = api.get("/appointments", {"day": day, "limit": 2, "offset": 2}).json()
    assert page["count"] == 4
    assert [item["id"] for item in page["items"]] == [
        str(north.public_id),
        str(cancelled.public_id),
    ]
    assert AuditEntry.objects.filter(action="videotermin.api.appointments_listed").count() == 5


def test_the_state_filter_finds_exactly_the_appointments_in_that_state(api, book, counselor):
    now = timezone.now()
    made = {
        "invited": book(starts_at=now + timedelta(hours=3)),
        "consented": book(starts_at=now + timedelta(hours=4)),
        "checked": book(starts_at=now + timedelta(hours=5)),
        "waiting": book(starts_at=now + timedelta(minutes=3)),
        "withdrawn": book(starts_at=now + timedelta(hours=6)),
        "no_show": book(starts_at=now - timedelta(minutes=40)),
        "no_show_long_ago": book(starts_at=now - timedelta(hours=9)),
        "still_running_over": book(starts_at=now - timedelta(minutes=20), duration_minutes=60),
        "in_call": book(starts_at=now - timedelta(minutes=5)),
        "done": book(starts_at=now - timedelta(hours=2)),
        "cancelled": book(starts_at=now + timedelta(hours=7)),
    }
    Member.objects.filter(pk=made["consented"].citizen.pk).update(consented_at=now)
    Member.objects.filter(pk=made["checked"].citizen.pk).update(
        consented_at=now, check_result=Member.CheckResult.GREEN
    )
    Member.objects.filter(pk=made["waiting"].citizen.pk).update(presence=Member.Presence.WAITING)
    Member.objects.filter(pk=made["withdrawn"].citizen.pk).update(withdrawn_at=now)
    Appointment.objects.filter(pk=made["in_call"].appointment.pk).update(call_started_at=now)
    Appointment.objects.filter(pk=made["done"].appointment.pk).update(
        call_started_at=now - timedelta(hours=2), call_ended_at=now - timedelta(hours=1)
    )
    appointments.cancel_appointment(made["cancelled"].appointment, by=counselor)

    for state in Status.values:
        response = api.get("/appointments", {"state": state, "limit": 100})
        found = {item["id"] for item in response.json()["items"]}
        expected = {
            str(a.public_id)
            for a in Appointment.objects.all()
            if a.status().value == state  # the day view's own rule
        }
        assert found == expected, state
    assert len(api.get("/appointments", {"state": "no_show"}).json()["items"]) == 2


def test_changing_the_time_needs_the_etag_of_the_last_read_and_sends_everyone_an_update(
    api, booked
):
    mail.outbox.clear()
    later = tomorrow_at(11)

    response = api.patch(
        appointment_path(booked),
        {"starts_at": later.isoformat(), "duration_minutes": 45},
        if_match=booked["ETag"],
    )

    assert response.status_code == 200, response.content
    assert datetime.fromisoformat(response.json()["starts_at"]) == later
    assert response.json()["duration_minutes"] == 45
    assert response["ETag"] not in ("", booked["ETag"])
    assert len(mail.outbox) == 2
    assert api.get(appointment_path(booked))["ETag"] == response["ETag"]


def test_a_change_against_a_stale_version_is_refused_with_412_and_changes_nothing(api, booked):
    first = api.patch(appointment_path(booked), {"duration_minutes": 45}, if_match=booked["ETag"])
    assert first.status_code == 200

    stale = api.patch(appointment_path(booked), {"duration_minutes": 60}, if_match=booked["ETag"])

    problem(stale, 412, "precondition-failed")
    assert Appointment.objects.get().duration_minutes == 45


def test_a_change_without_if_match_is_refused_with_428(api, booked):
    response = api.patch(appointment_path(booked), {"duration_minutes": 45})

    problem(response, 428, "precondition-required")
    assert Appointment.objects.get().duration_minutes == 30


def test_if_match_star_and_a_list_of_etags_are_understood(api, booked):
    star = api.patch(appointment_path(booked), {"duration_minutes": 40}, if_match="*")
    listed = api.patch(
        appointment_path(booked),
        {"duration_minutes": 50},
        if_match=f'"0000", {star["ETag"]}',
    )
    weak = api.patch(
        appointment_path(booked), {"duration_minutes": 55}, if_match=f"W/{listed['ETag']}"
    )

    assert star.status_code == 200
    assert listed.status_code == 200
    problem(weak, 412, "precondition-failed")


def test_moving_an_appointment_to_another_of_the_agencys_locations(api, booked, agency):
    north = Location.objects.create(agency=agency, name="Musterstadt Nord")

    response = api.patch(
        appointment_path(booked), {"location": str(north.public_id)}, if_match=booked["ETag"]
    )

    assert response.json()["location"] == str(north.public_id)


def test_cancelling_ends_every_link_tells_everyone_and_is_not_repeated(api, booked):
    tokens = [token_of(link["link"]) for link in booked.json()["links"]]
    mail.outbox.clear()

    first = api.post(f"{appointment_path(booked)}/cancel")
    again = api.post(f"{appointment_path(booked)}/cancel")

    assert first.status_code == 200
    assert first.json()["state"] == "cancelled"
    assert first.json()["cancelled_at"]
    assert again.status_code == 200
    assert len(mail.outbox) == 2
    for token in tokens:
        with pytest.raises(appointments.LinkError):
            appointments.resolve_link(token)


def test_a_cancelled_appointment_cannot_be_changed_any_more(api, booked):
    cancelled = api.post(f"{appointment_path(booked)}/cancel")

    response = api.patch(
        appointment_path(booked), {"duration_minutes": 45}, if_match=cancelled["ETag"]
    )

    assert "cancelled" in problem(response, 409, "conflict")["detail"]


def test_a_cancellation_with_a_stale_version_is_refused(api, booked):
    api.patch(appointment_path(booked), {"duration_minutes": 45}, if_match=booked["ETag"])

    response = api.post(f"{appointment_path(booked)}/cancel", if_match=booked["ETag"])

    problem(response, 412, "precondition-failed")
    assert Appointment.objects.get().cancelled_at is None


def test_adding_a_guardian_invites_them_and_returns_their_link_once(api, booked):
    mail.outbox.clear()

    response = api.post(
        f"{appointment_path(booked)}/members",
        {"role": "guardian", "name": "Gerd Vormund", "email": "gerd@example.org", "language": "de"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    member = Member.objects.get(public_id=body["id"])
    assert member.role == "guardian"
    assert response["Location"].endswith(f"/members/{member.public_id}")
    assert appointments.resolve_link(token_of(body["link"])) == member
    assert [message.to for message in mail.outbox] == [["gerd@example.org"]]
    read = api.get(f"{appointment_path(booked)}/members/{member.public_id}")
    assert "link" not in read.json()
    assert read["ETag"] == response["ETag"]


def test_a_seventh_person_is_refused(api, booked):
    path = f"{appointment_path(booked)}/members"
    for number in range(3):
        person = {"role": "trusted_person", "name": f"Person {number}", "email": "p@example.org"}
        assert api.post(path, person).status_code == 201

    refused = api.post(path, {"role": "guardian", "name": "Zu viel", "email": "z@example.org"})

    assert "6" in problem(refused, 409, "conflict")["detail"]


def test_the_members_of_an_appointment_are_listed(api, booked):
    response = api.get(f"{appointment_path(booked)}/members")

    assert response.status_code == 200
    assert [m["role"] for m in response.json()] == ["host", "citizen", "interpreter"]


def test_correcting_an_email_address_ends_the_links_sent_to_the_old_one(api, booked):
    olga = next(link for link in booked.json()["links"] if link["role"] == "interpreter")
    path = f"{appointment_path(booked)}/members/{olga['member']}"
    read = api.get(path)
    mail.outbox.clear()

    response = api.patch(path, {"email": "olga.k@example.org"}, if_match=read["ETag"])

    assert response.status_code == 200, response.content
    assert response.json()["email"] == "olga.k@example.org"
    assert [message.to for message in mail.outbox] == [["olga.k@example.org"]]
    with pytest.raises(appointments.LinkError):
        appointments.resolve_link(token_of(olga["link"]))


def test_a_member_change_needs_the_members_current_etag(api, booked):
    olga = next(link for link in booked.json()["links"] if link["role"] == "interpreter")
    path = f"{appointment_path(booked)}/members/{olga['member']}"

    missing = api.patch(path, {"language": "en"})
    stale = api.patch(path, {"language": "en"}, if_match=booked["ETag"])

    problem(missing, 428, "precondition-required")
    problem(stale, 412, "precondition-failed")
    assert Member.objects.get(public_id=olga["member"]).language == "uk"


def test_staff_members_details_are_not_changed_through_the_api(api, booked):
    host = next(m for m in booked.json()["members"] if m["role"] == "host")
    path = f"{appointment_path(booked)}/members/{host['id']}"

    response = api.patch(path, {"name": "Someone"}, if_match=api.get(path)["ETag"])

    problem(response, 409, "conflict")


def test_removing_a_person_ends_their_links_and_leaves_them_readable_as_removed(api, booked):
    olga = next(link for link in booked.json()["links"] if link["role"] == "interpreter")
    path = f"{appointment_path(booked)}/members/{olga['member']}"
    mail.outbox.clear()

    response = api.delete(path)
    again = api.delete(path)

    assert response.status_code == 200
    assert response.json()["state"] == "removed"
    assert response.json()["removed_at"]
    assert again.status_code == 200
    assert [message.to for message in mail.outbox] == [["olga@example.org"]]
    with pytest.raises(appointments.LinkError):
        appointments.resolve_link(token_of(olga["link"]))
    assert api.get(path).json()["state"] == "removed"


def test_the_host_cannot_be_removed(api, booked):
    host = next(m for m in booked.json()["members"] if m["role"] == "host")

    response = api.delete(f"{appointment_path(booked)}/members/{host['id']}")

    problem(response, 409, "conflict")


def test_a_new_link_can_be_issued_without_an_email_and_the_earlier_one_keeps_working(api, booked):
    dana = next(link for link in booked.json()["links"] if link["role"] == "citizen")
    mail.outbox.clear()

    response = api.post(f"{appointment_path(booked)}/members/{dana['member']}/link")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["member"] == dana["member"]
    assert body["link"] != dana["link"]
    for link in (body["link"], dana["link"]):
        assert str(appointments.resolve_link(token_of(link)).public_id) == dana["member"]
    assert mail.outbox == []
    assert AuditEntry.objects.filter(action="videotermin.member.link_issued").count() == 1


def test_no_link_is_issued_for_a_cancelled_appointment_or_a_removed_person(api, booked):
    olga = next(link for link in booked.json()["links"] if link["role"] == "interpreter")
    dana = next(link for link in booked.json()["links"] if link["role"] == "citizen")
    members = f"{appointment_path(booked)}/members"
    api.delete(f"{members}/{olga['member']}")
    removed = api.post(f"{members}/{olga['member']}/link")
    api.post(f"{appointment_path(booked)}/cancel")
    cancelled = api.post(f"{members}/{dana['member']}/link")

    problem(removed, 409, "conflict")
    problem(cancelled, 409, "conflict")


def test_the_agencys_locations_and_staff_are_listed_by_their_public_ids(
    api, location, counselor, outsider
):
    locations = api.get("/locations").json()
    staff = api.get("/counselors").json()

    assert locations == [
        {
            "id": str(location.public_id),
            "name": "Musterstadt Mitte",
            "address": "Hauptstraße 1",
            "open_for_booking": True,
        }
    ]
    assert staff == [
        {
            "id": str(counselor.staff.public_id),
            "name": "Alice Berger",
            "role": "counselor",
            "location": str(location.public_id),
            "active": True,
        }
    ]


def numbers_and_ids(value, key=""):
    """Every number in an answer with its key, and every value of a key that names something."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from numbers_and_ids(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_and_ids(item, key)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int) or key in ("id", "member", "location", "counselor"):
        yield key, value


def test_no_answer_names_a_database_id(api, booked):
    answers = [booked.json(), api.get("/counselors").json(), api.get("/locations").json()]

    found = list(numbers_and_ids(answers))

    assert {key for key, value in found if isinstance(value, int)} == {"duration_minutes"}
    for key, value in found:
        if isinstance(value, str):
            assert uuid.UUID(value).version == 4, key


# Problems -------------------------------------------------------------------------------------


def test_errors_are_problem_details_in_the_callers_language(api, client):
    unknown = "/appointments/00000000-0000-4000-8000-000000000000"

    english = problem(api.get(unknown, language="en-GB,en;q=0.8"), 404, "not-found")
    german = problem(api.get(unknown, language="de-DE"), 404, "not-found")
    fallback = problem(api.get(unknown, language="fr"), 404, "not-found")

    assert english["title"] == "Not found"
    assert german["title"] == "Nicht gefunden"
    assert fallback["title"] == "Nicht gefunden"
    assert english["instance"] == "/api/v1" + unknown
    response = api.get(unknown, language="de")
    assert response["Content-Language"] == "de"
    assert "Accept-Language" in response["Vary"]


def test_validation_errors_name_each_field_in_german_and_english(api, location, counselor):
    body = booking_body(location, counselor, tomorrow_at(9), duration_minutes=2)
    body["citizen"]["email"] = "no address"
    del body["citizen"]["name"]

    english = problem(api.post("/appointments", body), 422, "validation")
    german = problem(api.post("/appointments", body, language="de"), 422, "validation")

    assert {e["location"] for e in english["errors"]} == {
        "body.duration_minutes",
        "body.citizen.email",
        "body.citizen.name",
    }
    assert english["detail"] == "3 values of the request are not valid."
    assert german["detail"] == "3 Angaben der Anfrage sind ungültig."
    messages = {e["location"]: e["message"] for e in german["errors"]}
    assert messages["body.citizen.name"] == "Diese Angabe fehlt."
    assert messages["body.citizen.email"] == "Geben Sie eine E-Mail-Adresse an."


def test_unauthenticated_calls_are_problems_with_a_bearer_challenge(client, booked):
    response = ApiCaller(client, None, language="de").get(appointment_path(booked))

    body = problem(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["title"] == "Anmeldung erforderlich"


def test_an_unknown_address_and_a_method_not_allowed_are_problems_too(api, client):
    nowhere = problem(client.get("/api/v2/appointments"), 404, "not-found")
    inside = problem(api.get("/nothing-here"), 404, "not-found")
    wrong = api.call("put", "/appointments", {})

    problem(wrong, 405, "method-not-allowed")
    assert wrong["Allow"] == "GET, POST"
    assert nowhere["instance"] == "/api/v2/appointments"
    assert inside["detail"]


def test_a_body_beyond_the_limit_is_refused_before_it_is_read(api, location, counselor, settings):
    body = booking_body(location, counselor, tomorrow_at(9))
    body["citizen"]["name"] = "x" * settings.API_MAX_BODY_BYTES

    response = api.post("/appointments", body)

    problem(response, 413, "body-too-large")
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        '{"duration_minutes": NaN}',
        '{"duration_minutes": 30, "duration_minutes": 45}',
        '{"a":' * 10 + "1" + "}" * 10,
        '{"citizen": {"name": "\\u0000"}}',
        "{",
        b"\xff\xfe",
    ],
    ids=["nan", "duplicate-key", "deep", "nul", "broken", "not-utf8"],
)
def test_bodies_a_strict_json_reader_refuses_are_problems(api, raw):
    response = api.post("/appointments", raw=raw)

    problem(response, 400, "invalid-body")
    assert not Appointment.objects.exists()


def test_a_failure_inside_is_a_problem_without_details(api, location, counselor, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(appointments, "create_appointment", broken)

    response = api.post("/appointments", booking_body(location, counselor, tomorrow_at(9)))

    body = problem(response, 500, "server-error")
    assert "fire" not in response.content.decode()
    assert body["detail"]


def test_a_misspelt_filter_or_a_query_on_an_operation_without_one_is_refused(api, booked):
    misspelt = api.get("/appointments", {"date": "2030-01-02"})
    stray = api.get(appointment_path(booked), {"expand": "members"})
    lax_day = api.get("/appointments", {"day": "0"})

    assert problem(misspelt, 422, "validation")["errors"][0]["location"] == "query.date"
    assert problem(stray, 422, "validation")["errors"][0]["location"] == "query.expand"
    assert problem(lax_day, 422, "validation")["errors"][0]["location"] == "query.day"


def test_a_start_without_an_offset_is_refused(api, location, counselor):
    body = booking_body(location, counselor, tomorrow_at(9))
    body["starts_at"] = "2030-01-01T10:00:00"

    response = api.post("/appointments", body)

    errors = problem(response, 422, "validation")["errors"]
    assert errors[0]["location"] == "body.starts_at"
    assert "offset" in errors[0]["message"]


def test_an_interpreter_invited_by_staff_is_read_like_any_other(api, appointment, counselor):
    appointments.add_member(appointment, interpreter_invitee(), by=counselor)

    body = api.get(f"/appointments/{appointment.public_id}").json()

    assert [m["role"] for m in body["members"]] == ["host", "citizen", "interpreter"]
