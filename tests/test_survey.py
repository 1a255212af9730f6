"""The anonymous survey after the consultation (J13)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from videotermin.appointments.models import Appointment
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
    assert reverse("survey:thanks") in page
    assert 'type="radio"' in page


def test_an_answer_keeps_only_the_agency_and_the_day(client, after_the_call):
    response = client.post(
        survey_url(after_the_call.citizen),
        {"easy_to_use": "yes", "would_recommend": "partly", "next_mode": "video"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("survey:thanks")
    answer = SurveyResponse.objects.get()
    assert answer.agency == after_the_call.appointment.agency
    assert answer.day == timezone.localdate()
    assert (answer.easy_to_use, answer.would_recommend, answer.next_mode) == (
        "yes",
        "partly",
        "video",
    )
    fields = {field.name for field in SurveyResponse._meta.concrete_fields}
    assert fields == {"id", "agency", "day", "easy_to_use", "would_recommend", "next_mode"}


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
    assert client.get(reverse("survey:thanks")).status_code == 200
