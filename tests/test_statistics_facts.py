"""The facts the statistics are built from: written for every consultation that is over (held,
cancelled, missed), with what joining and the quality steps were like, and kept unchanged when
the personal data are deleted."""

from datetime import timedelta

import pytest
from django.utils import timezone
from tests.personas import agree, interpreter_invitee

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment, Member
from videotermin.calls import services as calls
from videotermin.privacy.services import purge
from videotermin.stats.models import ConsultationFact, QualityTally
from videotermin.stats.reports import report
from videotermin.stats.services import note_sending_mode, write_due_facts
from videotermin.survey import services as survey
from videotermin.survey.models import SurveyResponse

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.39 Mobile Safari/537.36"
)


def hold(booking, *, minutes_in: int = 0, answer: bool = True) -> Appointment:
    """The citizen agrees, checks green, waits, is let in; the host ends the call; the citizen
    answers the survey."""
    appointment = booking.appointment
    host = appointment.members.get(role="host")
    citizen = agree(booking.citizen)
    calls.update_status(citizen, check={"result": "green", "details": {}})
    calls.connect(host, session=f"host-{appointment.pk}", channel=f"h-{appointment.pk}")
    citizen = calls.connect(
        citizen,
        session=f"citizen-{appointment.pk}",
        channel=f"c-{appointment.pk}",
        user_agent=ANDROID_CHROME,
    )
    calls.admit(citizen, by=host)
    calls.end_call(appointment, by=host)
    if answer:
        citizen.refresh_from_db()
        survey.answer(
            citizen,
            day=timezone.localdate(),
            easy_to_use="yes",
            would_recommend="yes",
            next_mode="video",
        )
    return appointment


def test_the_statistics_are_the_same_after_every_personal_datum_is_deleted(agency, counselor, book):
    for index in range(5):
        hold(book(starts_in=timedelta(minutes=2, seconds=index), email=f"held{index}@example.org"))
    for index in range(5):
        cancelled = book(starts_in=timedelta(days=1, minutes=index), email=f"c{index}@example.org")
        appointments.cancel_appointment(cancelled.appointment, by=counselor)
    for index in range(5):
        book(starts_in=-timedelta(hours=2, minutes=index), email=f"missed{index}@example.org")
    assert write_due_facts() == 10
    today = timezone.localdate()
    period = {"start": today - timedelta(days=1), "end": today + timedelta(days=1)}
    before = report(agency, **period)
    assert before["tables"][0]["rows"] == [
        {
            "key": "held",
            "label": "Durchgeführt",
            "count": {"value": 5, "suppressed": False},
            "percent": {"value": 33, "suppressed": False},
        },
        {
            "key": "no_show",
            "label": "Nicht durchgeführt (nicht erschienen)",
            "count": {"value": 5, "suppressed": False},
            "percent": {"value": 33, "suppressed": False},
        },
        {
            "key": "cancelled",
            "label": "Abgesagt",
            "count": {"value": 5, "suppressed": False},
            "percent": {"value": 33, "suppressed": False},
        },
    ]

    deleted = purge(now=timezone.now() + timedelta(days=16))

    assert deleted.total_appointments == 15
    assert not Appointment.objects.exists() and not Member.objects.exists()
    assert ConsultationFact.objects.count() == 15 and SurveyResponse.objects.count() == 5
    assert report(agency, **period) == before


def test_a_cancelled_or_missed_appointment_counts_the_same_day(agency, counselor, book):
    cancelled = book(starts_in=timedelta(days=3), email="erik@example.org").appointment
    appointments.cancel_appointment(cancelled, by=counselor)
    missed = book(starts_in=-timedelta(minutes=40), email="frieda@example.org").appointment
    book(starts_in=-timedelta(minutes=10), email="gabi@example.org")  # until its planned end
    late = book(starts_in=-timedelta(minutes=20), email="hanna@example.org")
    calls.connect(agree(late.citizen), session="s-late", channel="c-late")
    Appointment.objects.filter(pk=late.appointment.pk).update(
        starts_at=timezone.now() - timedelta(minutes=40)
    )

    assert write_due_facts() == 2
    assert write_due_facts() == 0
    assert sorted(ConsultationFact.objects.values_list("outcome", "day")) == sorted(
        [
            ("cancelled", timezone.localdate(cancelled.starts_at)),
            ("no_show", timezone.localdate(missed.starts_at)),
        ]
    )


def test_the_fact_knows_who_entered_the_waiting_room_and_who_took_part(book):
    booking = book(extras=[interpreter_invitee()])
    appointment = booking.appointment
    host = appointment.members.get(role="host")
    interpreter = agree(booking.extras[0][0])
    citizen = agree(booking.citizen)
    calls.connect(host, session="host-session", channel="host-channel")
    calls.connect(citizen, session="citizen-session", channel="citizen-channel")
    interpreter = calls.connect(interpreter, session="olga-session", channel="olga-channel")
    calls.admit(interpreter, by=host)
    calls.end_call(appointment, by=host)

    fact = ConsultationFact.objects.get()

    assert fact.invited == {"citizen": 1, "interpreter": 1}
    assert fact.entered == 2
    assert fact.took_part == {"host": 1, "interpreter": 1}


def test_quality_steps_are_counted_for_the_consultation_and_never_for_a_person(book):
    booking = book()
    appointment = booking.appointment
    steps = [
        (None, "high"),
        ("high", "saver"),
        ("saver", "high"),
        ("high", "saver"),
        ("saver", "audio"),
        ("audio", "saver"),
    ]
    for previous, mode in steps:
        note_sending_mode(appointment.pk, previous=previous, mode=mode)
    tally = QualityTally.objects.get()
    assert (tally.steps_down, tally.lowest) == (3, "audio")
    with pytest.raises(ValueError):
        note_sending_mode(appointment.pk, previous="high", mode="4k")

    hold(booking, answer=False)

    fact = ConsultationFact.objects.get()
    assert (fact.quality, fact.quality_steps_down) == ("audio", 3)
    purge(now=timezone.now() + timedelta(days=16))
    assert not QualityTally.objects.exists()


def test_a_consultation_whose_pages_reported_nothing_has_no_quality_step(book):
    hold(book(), answer=False)

    assert ConsultationFact.objects.get().quality == ""


def test_a_consultation_that_kept_its_quality_says_so(book):
    booking = book()
    note_sending_mode(booking.appointment.pk, previous=None, mode="high")
    note_sending_mode(booking.appointment.pk, previous="saver", mode="high")

    hold(booking, answer=False)

    assert (
        ConsultationFact.objects.get().quality,
        ConsultationFact.objects.get().quality_steps_down,
    ) == (
        "kept",
        0,
    )


def test_a_survey_answer_keeps_the_location_and_the_day_only(book, location):
    hold(book())

    response = SurveyResponse.objects.get()

    assert (response.agency_id, response.location_id, response.day) == (
        location.agency_id,
        location.pk,
        timezone.localdate(),
    )
