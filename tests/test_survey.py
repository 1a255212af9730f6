"""The anonymous survey after the consultation (J13), and the way back for whoever left a
consultation that goes on (J12)."""

from uuid import uuid4

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.personas import agree

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment, Member
from videotermin.calls import services as calls
from videotermin.survey.models import SurveyResponse


def survey_url(participant) -> str:
    return reverse("survey:start", args=[participant.public_id])


@pytest.fixture
def after_the_call(client, booking):
    """The citizen opened the link, and the consultation has ended since."""
    client.get(reverse("journey:link", args=[booking.token]))
    now = timezone.now()
    Appointment.objects.filter(pk=booking.appointment.pk).update(
        call_started_at=now, call_ended_at=now
    )
    return booking


def test_the_survey_opens_after_the_call_although_the_link_has_expired(client, after_the_call):
    response = client.get(survey_url(after_the_call.citizen))
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("survey:thanks", args=[after_the_call.citizen.public_id]) in page
    assert 'type="radio"' in page


def test_an_answer_keeps_only_the_agency_the_location_and_the_day(client, after_the_call):
    response = client.post(
        survey_url(after_the_call.citizen),
        {"easy_to_use": "yes", "would_recommend": "partly", "next_mode": "video"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("survey:thanks", args=[after_the_call.citizen.public_id])
    answer = SurveyResponse.objects.get()
    assert answer.agency == after_the_call.appointment.agency
    assert answer.location == after_the_call.appointment.location
    assert answer.day == timezone.localdate()
    assert (answer.easy_to_use, answer.would_recommend, answer.next_mode) == (
        "yes",
        "partly",
        "video",
    )
    fields = {field.name for field in SurveyResponse._meta.concrete_fields}
    assert fields == {
        "id",
        "agency",
        "location",
        "day",
        "easy_to_use",
        "would_recommend",
        "next_mode",
    }


def test_every_question_is_optional(client, after_the_call):
    response = client.post(survey_url(after_the_call.citizen), {})
    assert response.status_code == 302
    answer = SurveyResponse.objects.get()
    assert (answer.easy_to_use, answer.would_recommend, answer.next_mode) == ("", "", "")


def test_an_invalid_choice_is_refused(client, after_the_call):
    response = client.post(survey_url(after_the_call.citizen), {"easy_to_use": "maybe"})
    assert response.status_code == 200
    assert not SurveyResponse.objects.exists()


def test_a_second_submission_is_refused(client, after_the_call):
    client.post(survey_url(after_the_call.citizen), {"easy_to_use": "yes"})
    response = client.post(survey_url(after_the_call.citizen), {"easy_to_use": "no"})
    assert response.status_code == 200
    assert SurveyResponse.objects.count() == 1
    assert SurveyResponse.objects.get().easy_to_use == "yes"


def test_a_stranger_cannot_answer(client, booking):
    response = client.post(survey_url(booking.citizen), {"easy_to_use": "no"})
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()


def test_the_thanks_page_needs_nothing(client, db):
    assert client.get(reverse("survey:thanks", args=[uuid4()])).status_code == 200


def test_the_thanks_speak_the_participants_language_not_the_browsers(client, book):
    booking = book(language="uk")
    client.get(reverse("journey:link", args=[booking.token]))
    now = timezone.now()
    Appointment.objects.filter(pk=booking.appointment.pk).update(
        call_started_at=now, call_ended_at=now
    )
    client.post(
        survey_url(booking.citizen),
        {"easy_to_use": "yes", "would_recommend": "yes", "next_mode": "video"},
    )
    page = client.get(
        reverse("survey:thanks", args=[booking.citizen.public_id]), HTTP_ACCEPT_LANGUAGE="de"
    ).text
    assert '<html lang="uk"' in page


# Left while the consultation goes on


@pytest.fixture
def olga_left(client, interpreter_booking):
    """Olga was let in, then hung up; Alice and Dana go on."""
    olga, token = interpreter_booking.extras[0]
    client.get(reverse("journey:link", args=[token]))
    agree(olga)
    host = interpreter_booking.appointment.members.get(role="host")
    calls.connect(host, session="a" * 16, channel="alice")
    calls.connect(olga, session="b" * 16, channel="olga")
    calls.admit(olga, by=host)
    calls.leave(olga)
    olga.refresh_from_db()
    return olga


def test_the_survey_offers_the_way_back_while_the_consultation_runs(client, olga_left):
    response = client.get(survey_url(olga_left))
    assert response.status_code == 200
    page = response.content.decode()
    room = reverse("journey:room", args=[olga_left.public_id])
    assert f'href="{room}"' in page
    assert "Back to the consultation" in page  # in Olga's language, English
    assert "You have left the consultation" in page
    assert "The consultation has ended" not in page


def test_the_way_back_leads_into_the_room(client, olga_left):
    response = client.get(reverse("journey:room", args=[olga_left.public_id]))
    assert response.status_code == 200


def test_the_thanks_after_answering_still_offers_the_way_back(client, olga_left):
    client.post(survey_url(olga_left), {"easy_to_use": "yes"})
    page = client.get(survey_url(olga_left)).content.decode()
    assert "already answered" in page
    assert reverse("journey:room", args=[olga_left.public_id]) in page


def test_there_is_no_way_back_once_the_consultation_has_ended(client, olga_left):
    host = olga_left.appointment.members.get(role="host")
    calls.end_call(olga_left.appointment, by=host)
    response = client.get(survey_url(olga_left))
    page = response.content.decode()
    assert response.context["room_url"] is None
    assert reverse("journey:room", args=[olga_left.public_id]) not in page
    assert "The consultation has ended" in page


def test_there_is_no_way_back_for_someone_removed(client, olga_left, counselor):
    appointments.remove_member(olga_left, by=counselor)
    response = client.get(survey_url(olga_left))
    assert response.status_code == 200
    assert response.context["room_url"] is None
    assert reverse("journey:room", args=[olga_left.public_id]) not in response.content.decode()


def test_after_the_call_the_survey_offers_no_way_back(client, after_the_call):
    response = client.get(survey_url(after_the_call.citizen))
    assert response.context["room_url"] is None
    assert reverse("journey:room", args=[after_the_call.citizen.public_id]) not in (
        response.content.decode()
    )


def test_answering_while_the_consultation_runs_thanks_and_keeps_the_way_back(client, olga_left):
    response = client.post(survey_url(olga_left), {"easy_to_use": "yes"})
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("journey:room", args=[olga_left.public_id]) in page
    assert "has ended" not in page


# One answer per person and consultation, only after it


def test_before_the_consultation_no_browser_can_answer(booking):
    browsers = [Client() for _ in range(3)]
    for browser in browsers:
        browser.get(reverse("journey:link", args=[booking.token]))
        response = browser.post(survey_url(booking.citizen), {"easy_to_use": "yes"})
        assert response.status_code == 409
        assert "Die Umfrage öffnet sich nach dem Gespräch" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_one_answer_per_person_however_many_browsers_opened_the_link(booking):
    first, second = Client(), Client()
    for browser in (first, second):
        browser.get(reverse("journey:link", args=[booking.token]))
    now = timezone.now()
    Appointment.objects.filter(pk=booking.appointment.pk).update(
        call_started_at=now, call_ended_at=now
    )
    first.post(survey_url(booking.citizen), {"easy_to_use": "yes"})
    response = second.post(survey_url(booking.citizen), {"easy_to_use": "no"})
    assert response.context["again"] is True
    assert [a.easy_to_use for a in SurveyResponse.objects.all()] == ["yes"]


def test_the_member_keeps_only_the_fact_that_they_answered(client, after_the_call):
    client.post(survey_url(after_the_call.citizen), {"next_mode": "phone"})
    after_the_call.citizen.refresh_from_db()
    assert after_the_call.citizen.survey_answered is True
    # Nothing on the answer leads back to the person or the consultation.
    assert not any(
        field.related_model in (Member, Appointment)
        for field in SurveyResponse._meta.get_fields()
        if field.is_relation
    )
