"""Waiting room, admission, identity check and the end of a consultation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from videotermin.appointments.models import Participant, Status
from videotermin.appointments.services import NotAllowed
from videotermin.audit.models import AuditEntry
from videotermin.calls import services

CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def test_a_citizen_without_consent_cannot_enter(citizen):
    with pytest.raises(NotAllowed):
        services.arrive(citizen)


def test_a_citizen_cannot_enter_before_the_room_opens(consenting_citizen, appointment):
    appointment.starts_at = timezone.now() + timedelta(hours=1)
    appointment.save()
    with pytest.raises(NotAllowed):
        services.arrive(consenting_citizen)


def test_arriving_puts_the_citizen_in_the_waiting_room_with_browser_and_os(
    consenting_citizen, appointment
):
    services.arrive(consenting_citizen, user_agent=CHROME_ON_ANDROID)
    consenting_citizen.refresh_from_db()
    assert consenting_citizen.presence == Participant.Presence.WAITING
    assert consenting_citizen.browser.startswith("Chrome")
    assert consenting_citizen.operating_system.startswith("Android")
    assert appointment.status() == Status.WAITING


def test_a_reload_keeps_the_place_in_the_waiting_room(consenting_citizen):
    services.arrive(consenting_citizen)
    first = Participant.objects.get(pk=consenting_citizen.pk).waiting_since
    services.depart(consenting_citizen)
    services.arrive(consenting_citizen)
    assert Participant.objects.get(pk=consenting_citizen.pk).waiting_since == first


def test_the_counselor_admits_and_the_call_starts(consenting_citizen, counselor, appointment):
    services.arrive(consenting_citizen)
    services.admit(consenting_citizen, by=counselor)
    appointment.refresh_from_db()
    assert appointment.call_started_at is not None
    assert appointment.status() == Status.IN_CALL
    assert AuditEntry.objects.filter(action="videotermin.participant.admitted").exists()


def test_a_counselor_of_another_agency_cannot_admit(consenting_citizen, outsider):
    services.arrive(consenting_citizen)
    with pytest.raises(NotAllowed):
        services.admit(consenting_citizen, by=outsider)


def test_nobody_is_admitted_who_is_not_waiting(consenting_citizen, counselor):
    with pytest.raises(NotAllowed):
        services.admit(consenting_citizen, by=counselor)


def test_the_identity_check_is_recorded_with_who_and_when(appointment, counselor):
    services.confirm_identity(appointment, by=counselor)
    appointment.refresh_from_db()
    assert appointment.identity_checked_by == counselor
    assert appointment.identity_checked_at is not None


def test_a_reconnecting_admitted_citizen_is_back_in_the_call(consenting_citizen, counselor):
    services.arrive(consenting_citizen)
    services.admit(consenting_citizen, by=counselor)
    services.depart(consenting_citizen)
    services.arrive(consenting_citizen)
    consenting_citizen.refresh_from_db()
    assert consenting_citizen.presence == Participant.Presence.IN_CALL


def test_the_counselor_ends_the_call_for_everybody(consenting_citizen, counselor, appointment):
    services.arrive(consenting_citizen)
    services.admit(consenting_citizen, by=counselor)
    services.end_call(appointment, by=counselor)
    appointment.refresh_from_db()
    consenting_citizen.refresh_from_db()
    assert appointment.status() == Status.DONE
    assert consenting_citizen.presence == Participant.Presence.LEFT


def test_when_the_citizen_hangs_up_the_consultation_ends(
    consenting_citizen, counselor, appointment
):
    services.arrive(consenting_citizen)
    services.admit(consenting_citizen, by=counselor)
    services.leave(consenting_citizen)
    appointment.refresh_from_db()
    assert appointment.call_ended_at is not None


def test_device_status_is_stored_only_after_consent(citizen):
    with pytest.raises(NotAllowed):
        services.update_status(citizen, camera=True, check={"result": "green"})
    citizen.refresh_from_db()
    assert citizen.check_result == ""
