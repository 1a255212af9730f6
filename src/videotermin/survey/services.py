"""The survey's one rule: one answer per person and consultation, only once it is over for them."""

from datetime import date

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from videotermin.appointments.models import Member
from videotermin.appointments.services import NotAllowed, locked_member
from videotermin.survey.models import SurveyResponse
from videotermin.webhooks.outbox import emit


def is_open_for(member: Member) -> bool:
    """The consultation took place and is over for this person: ended, or they left it."""
    appointment = member.appointment
    return appointment.call_started_at is not None and bool(
        appointment.call_ended_at or member.left_at or member.removed_at
    )


@transaction.atomic
def answer(member: Member, *, day: date, **answers: str) -> SurveyResponse:
    """Store the answers apart from the person and note on the member only that they answered."""
    member = locked_member(member)
    if member.survey_answered:
        raise NotAllowed(_("You have already answered the survey for this consultation."))
    if not is_open_for(member):
        raise NotAllowed(_("The survey opens after the consultation."))
    response = SurveyResponse.objects.create(
        agency_id=member.appointment.agency_id,
        location_id=member.appointment.location_id,
        day=day,
        **answers,
    )
    member.survey_answered = True
    member.save(update_fields=["survey_answered"])
    emit(member.appointment, "survey.answered", member=member)
    return response
