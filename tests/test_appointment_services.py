"""Booking, changing, cancelling and re-inviting: the rules behind the staff workspace."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from videotermin.appointments import services
from videotermin.appointments.services import LinkError, NotAllowed


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def calendar_of(message) -> str:
    content = message.attachments[0][1]
    return content.decode() if isinstance(content, bytes) else content


def book(counselor, location, **extra):
    values = {
        "counselor": counselor,
        "location": location,
        "starts_at": timezone.now() + timedelta(hours=2),
        "citizen_name": "Dana Yilmaz",
        "citizen_email": "dana@example.org",
    }
    return services.create_appointment(**{**values, **extra})


def test_a_new_booking_gives_the_citizen_a_link_that_resolves(
    counselor, location, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(counselor, location)
    assert services.resolve_link(booking.token) == booking.citizen
    assert len(mail.outbox) == 1
    booking.appointment.refresh_from_db()
    assert booking.appointment.invitation_sent_at is not None


def test_it_refuses_a_location_of_another_agency(counselor, outsider):
    with pytest.raises(NotAllowed):
        book(counselor, outsider.staff.location)


def test_a_rolled_back_booking_sends_nothing(
    counselor, location, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking = book(counselor, location, send_invitation=False)
    assert booking.appointment.pk
    assert mail.outbox == []
    assert callbacks  # the day view is still told


def test_changing_the_start_sends_an_update_with_a_fresh_link(
    appointment, counselor, django_capture_on_commit_callbacks
):
    new_start = appointment.starts_at + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.update_appointment(appointment, by=counselor, starts_at=new_start)
    assert changed.starts_at == new_start
    assert changed.sequence == 1
    assert len(mail.outbox) == 1
    assert "METHOD:REQUEST" in calendar_of(mail.outbox[0])


def test_saving_without_changes_sends_nothing(
    appointment, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_appointment(
            appointment, by=counselor, citizen_name=appointment.citizen_name
        )
    assert mail.outbox == []


def test_a_change_of_name_alone_sends_no_update_but_renames_the_citizen(
    appointment, counselor, citizen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_appointment(appointment, by=counselor, citizen_name="Dana Yılmaz")
    citizen.refresh_from_db()
    assert citizen.name == "Dana Yılmaz"
    assert mail.outbox == []


def test_it_refuses_to_move_an_appointment_to_another_agencys_location(
    appointment, counselor, outsider
):
    with pytest.raises(NotAllowed):
        services.update_appointment(appointment, by=counselor, location=outsider.staff.location)


def test_cancelling_stops_the_link_and_tells_the_citizen(
    booking, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(booking.appointment, by=counselor)
    with pytest.raises(LinkError) as error:
        services.resolve_link(booking.token)
    assert error.value.reason == LinkError.CANCELLED
    assert "METHOD:CANCEL" in calendar_of(mail.outbox[0])


def test_a_cancelled_appointment_cannot_be_changed(appointment, counselor):
    services.cancel_appointment(appointment, by=counselor)
    with pytest.raises(NotAllowed):
        services.update_appointment(appointment, by=counselor, duration_minutes=45)


def test_cancelling_twice_is_harmless(appointment, counselor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(appointment, by=counselor)
        services.cancel_appointment(appointment, by=counselor)
    assert len(mail.outbox) == 1


def test_resending_gives_a_new_link_and_the_old_one_keeps_working(
    booking, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_invitation(booking.appointment, by=counselor)
    assert len(mail.outbox) == 1
    assert booking.token not in mail.outbox[0].body
    assert services.resolve_link(booking.token) == booking.citizen
    assert booking.citizen.links.count() == 2


def test_there_is_nothing_to_resend_for_a_cancelled_appointment(appointment, counselor):
    services.cancel_appointment(appointment, by=counselor)
    appointment.refresh_from_db()
    with pytest.raises(NotAllowed):
        services.resend_invitation(appointment, by=counselor)


def test_an_unknown_link_says_so(db):
    with pytest.raises(LinkError) as error:
        services.resolve_link("guessed-link")
    assert error.value.reason == LinkError.UNKNOWN
