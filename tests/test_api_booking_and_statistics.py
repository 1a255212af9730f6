"""The agency's systems through the API: a person's booking link, which opens the booking page
in the person's language, once; and the anonymous statistics of a period."""

import json

import pytest

from videotermin.audit.models import AuditEntry
from videotermin.booking.models import Invitation

pytestmark = pytest.mark.django_db

DANA = {"name": "Dana Yilmaz", "email": "dana@example.org", "language": "tr"}


def test_a_booking_link_is_issued_once_and_opens_the_booking_in_the_persons_language(
    api, client, location
):
    response = api.post("/booking-links", {**DANA, "location": str(location.public_id)})

    assert response.status_code == 201, response.content
    issued = response.json()
    invitation = Invitation.objects.get(public_id=issued["id"])
    assert (invitation.name, invitation.language, invitation.location) == (
        "Dana Yilmaz",
        "tr",
        location,
    )
    token = issued["link"].rsplit("/booking/i/", 1)[1].strip("/")
    assert token not in json.dumps(list(Invitation.objects.values()), default=str)
    assert AuditEntry.objects.filter(action="videotermin.booking.invitation_issued").exists()

    opened = client.get(f"/booking/i/{token}/", follow=True)
    assert opened.status_code == 200
    assert 'lang="tr"' in opened.content.decode()


def test_a_retry_with_the_same_idempotency_key_issues_no_second_link(api):
    first = api.post("/booking-links", DANA, idempotency_key="link-dana-1")
    again = api.post("/booking-links", DANA, idempotency_key="link-dana-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert Invitation.objects.count() == 1


def test_a_booking_link_for_another_agencys_location_is_refused(other_api, location):
    response = other_api.post("/booking-links", {**DANA, "location": str(location.public_id)})

    assert response.status_code == 422
    assert json.loads(response.content)["errors"][0]["location"] == "body.location"
    assert not Invitation.objects.exists()


def test_the_statistics_of_a_period_come_from_the_anonymous_facts_and_are_audited(api, location):
    response = api.get(
        "/statistics",
        {"start": "2026-11-01", "end": "2026-11-30", "location": str(location.public_id)},
    )

    assert response.status_code == 200, response.content
    report = response.json()
    assert (report["start"], report["end"]) == ("2026-11-01", "2026-11-30")
    assert report["location"]["id"] == str(location.public_id)
    assert report["rules"]["minimum"] == 5
    entry = AuditEntry.objects.get(action="videotermin.stats.exported")
    assert entry.data["format"] == "api"


def test_statistics_of_a_period_that_ends_before_it_starts_are_refused(api):
    response = api.get("/statistics", {"start": "2026-11-30", "end": "2026-11-01"})

    assert response.status_code == 422
    assert json.loads(response.content)["errors"][0]["location"] == "query.end"
