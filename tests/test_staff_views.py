"""The staff workspace: sign-in, the day view, booking and changes, live updates, the demo."""

import re
from datetime import timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from conftest import PASSWORD
from videotermin.appointments import services
from videotermin.appointments.models import Appointment, Participant, Status
from videotermin.calls import services as calls

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def alice(client, counselor):
    client.force_login(counselor)
    return client


@pytest.fixture
def charlie(outsider):
    client = Client()
    client.force_login(outsider)
    return client


def form_data(location, starts_at, **extra):
    return {
        "citizen_name": "Emil Sommer",
        "citizen_email": "emil@example.org",
        "language": "en",
        "customer_number": "123D456789",
        "location": location.pk,
        "starts_at": timezone.localtime(starts_at, BERLIN).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": 30,
        **extra,
    }


# Sign-in


def test_a_counselor_signs_in_and_lands_on_the_day_view(client, counselor):
    response = client.post(reverse("staff:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("staff:day")
    assert client.get(reverse("staff:day")).status_code == 200


def test_the_sign_in_page_labels_its_inputs(client, db):
    html = client.get(reverse("staff:login")).content.decode()
    assert '<label for="id_username"' in html
    assert '<label for="id_password"' in html


def test_sign_in_is_throttled_after_repeated_failures(client, counselor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("staff:login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("staff:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Sign-in temporarily blocked" in response.content.decode() or response.templates
    assert "_auth_user_id" not in client.session


def test_signing_out_takes_a_post(alice):
    response = alice.post(reverse("staff:logout"))
    assert response.status_code == 302
    assert alice.get(reverse("staff:day")).status_code == 302


def test_a_stranger_is_sent_to_sign_in(client, db):
    response = client.get(reverse("staff:day"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("staff:login"))


def test_a_user_who_is_not_staff_is_forbidden(client, db):
    user = get_user_model().objects.create_user(username="dora", password=PASSWORD)
    client.force_login(user)
    assert client.get(reverse("staff:day")).status_code == 403
    assert client.get(reverse("staff:create")).status_code == 403


# Day view and tenancy


def test_the_day_view_lists_todays_appointments_of_the_own_agency(alice, appointment):
    html = alice.get(reverse("staff:day")).content.decode()
    assert f'data-appointment="{appointment.public_id}"' in html
    assert "Dana Yilmaz" in html
    assert 'aria-live="polite"' in html
    assert "staff-day.js" in html
    assert "<script>" not in html  # the CSP allows no inline script


def test_a_colleague_sees_the_appointment_too(client, colleague, appointment):
    client.force_login(colleague)
    assert "Dana Yilmaz" in client.get(reverse("staff:day")).content.decode()


def test_a_counselor_of_another_agency_does_not_see_it(charlie, appointment):
    html = charlie.get(reverse("staff:day")).content.decode()
    assert "Dana Yilmaz" not in html
    assert str(appointment.public_id) not in html


@pytest.mark.parametrize("name", ["staff:edit", "staff:cancel", "staff:room"])
def test_a_counselor_of_another_agency_gets_404_on_its_pages(charlie, appointment, name):
    assert charlie.get(reverse(name, args=[appointment.public_id])).status_code == 404


@pytest.mark.parametrize("name", ["staff:edit", "staff:cancel", "staff:resend"])
def test_a_counselor_of_another_agency_cannot_change_it(charlie, appointment, name):
    response = charlie.post(reverse(name, args=[appointment.public_id]), {})
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.cancelled_at is None
    assert mail.outbox == []


def test_the_date_switch_shows_another_day(alice, counselor, location):
    later = timezone.now() + timedelta(days=20)
    booking = services.create_appointment(
        counselor=counselor,
        location=location,
        starts_at=later,
        citizen_name="Fritz Later",
        citizen_email="fritz@example.org",
        send_invitation=False,
    )
    assert "Fritz Later" not in alice.get(reverse("staff:day")).content.decode()
    day = timezone.localtime(booking.appointment.starts_at, BERLIN).date().isoformat()
    html = alice.get(reverse("staff:day"), {"day": day}).content.decode()
    assert "Fritz Later" in html


def test_a_nonsense_date_falls_back_to_today(alice, appointment):
    response = alice.get(reverse("staff:day"), {"day": "31-02-x"})
    assert response.status_code == 200
    assert "Dana Yilmaz" in response.content.decode()


def test_a_waiting_citizen_is_shown_with_an_admit_button(alice, appointment, citizen):
    Participant.objects.filter(pk=citizen.pk).update(
        consented_at=timezone.now(),
        presence=Participant.Presence.WAITING,
        waiting_since=timezone.now(),
        check_result="green",
        browser="Firefox 133",
        operating_system="Android 14",
    )
    html = alice.get(reverse("staff:day")).content.decode()
    assert 'data-status="waiting"' in html
    assert "Einlassen" in html  # "Admit"; the staff workspace speaks German by default
    assert "Firefox 133" in html
    assert 'class="light green"' in html


# Booking and changes


def test_booking_sends_the_invitation(alice, location, django_capture_on_commit_callbacks):
    starts_at = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("staff:create"), form_data(location, starts_at))
    assert response.status_code == 302
    appointment = Appointment.objects.get(citizen_email="emil@example.org")
    assert appointment.language == "en"
    assert appointment.customer_number == "123D456789"
    [message] = mail.outbox
    assert message.to == ["emil@example.org"]
    assert re.search(r"/j/[\w-]{32}/", message.body)
    assert any(kind == "text/html" for _, kind in message.alternatives)
    assert "METHOD:REQUEST" in str(message.attachments[0][1])
    assert "Emil Sommer" in alice.get(response.url).content.decode()  # the success message


def test_the_start_is_read_in_the_agencys_time_zone(alice, location):
    starts_at = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    alice.post(reverse("staff:create"), form_data(location, starts_at))
    assert Appointment.objects.get(citizen_email="emil@example.org").starts_at == starts_at


def test_booking_refuses_a_location_of_another_agency(alice, outsider):
    response = alice.post(
        reverse("staff:create"),
        form_data(outsider.staff.location, timezone.now() + timedelta(days=1)),
    )
    assert response.status_code == 200
    assert "location" in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_booking_refuses_a_start_in_the_past(alice, location):
    response = alice.post(
        reverse("staff:create"), form_data(location, timezone.now() - timedelta(days=1))
    )
    assert "starts_at" in response.context["form"].errors


def test_booking_shows_errors_next_to_the_fields(alice, location):
    response = alice.post(reverse("staff:create"), {"location": location.pk})
    assert response.status_code == 200
    assert "citizen_email" in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_editing_the_start_sends_an_update(
    alice, appointment, location, django_capture_on_commit_callbacks
):
    form = alice.get(reverse("staff:edit", args=[appointment.public_id]))
    assert form.status_code == 200
    new_start = appointment.starts_at + timedelta(days=1)
    data = form_data(
        location,
        new_start,
        citizen_name="Dana Yilmaz",
        citizen_email="dana@example.org",
        language="de",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("staff:edit", args=[appointment.public_id]), data)
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == new_start.replace(second=0, microsecond=0)
    [message] = mail.outbox
    assert message.to == ["dana@example.org"]
    assert "METHOD:REQUEST" in str(message.attachments[0][1])


def test_cancelling_asks_first_then_cancels_and_stops_the_link(
    alice, booking, django_capture_on_commit_callbacks
):
    url = reverse("staff:cancel", args=[booking.appointment.public_id])
    page = alice.get(url)
    assert page.status_code == 200
    assert "Ja, Termin absagen" in page.content.decode()  # "Yes, cancel the appointment"
    booking.appointment.refresh_from_db()
    assert booking.appointment.cancelled_at is None
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.post(url).status_code == 302
    [message] = mail.outbox
    assert "METHOD:CANCEL" in str(message.attachments[0][1])
    with pytest.raises(services.LinkError) as error:
        services.resolve_link(booking.token)
    assert error.value.reason == "cancelled"


def test_a_cancelled_appointment_cannot_be_edited(alice, appointment, counselor):
    services.cancel_appointment(appointment, by=counselor)
    response = alice.get(reverse("staff:edit", args=[appointment.public_id]))
    assert response.status_code == 302


def test_resending_sends_a_new_link_and_keeps_the_old_one(
    alice, booking, django_capture_on_commit_callbacks
):
    url = reverse("staff:resend", args=[booking.appointment.public_id])
    assert alice.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.post(url).status_code == 302
    [message] = mail.outbox
    assert booking.token not in message.body
    assert services.resolve_link(booking.token) == booking.citizen


def test_the_counselor_opens_the_room(alice, appointment):
    try:
        get_template("calls/counselor_room.html")
    except TemplateDoesNotExist:
        pytest.skip("the calls app's room template is not there yet")
    response = alice.get(reverse("staff:room", args=[appointment.public_id]))
    assert response.status_code == 200
    assert response.context["ws_path"] == f"/ws/room/{appointment.public_id}/"
    assert response.context["citizen"].name == "Dana Yilmaz"


# Live updates


def signed_in_headers(user) -> list[tuple[bytes, bytes]]:
    """The headers of a browser tab in which the user has signed in."""
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return [(b"cookie", cookie.encode()), (b"origin", b"http://localhost"), (b"host", b"localhost")]


def staff_socket(headers) -> WebsocketCommunicator:
    from videotermin.asgi import application

    return WebsocketCommunicator(application, "/ws/staff/", headers=headers)


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def hear_the_citizen_arrive(booking, headers) -> dict:
    """What a day view connected with these headers hears when the citizen enters the room."""
    Participant.objects.filter(pk=booking.citizen.pk).update(consented_at=timezone.now())

    async def scenario():
        socket = staff_socket(headers)
        connected, _ = await socket.connect()
        assert connected
        await sync_to_async(calls.arrive)(booking.citizen, user_agent=FIREFOX)
        message = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return message

    return async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_the_day_view_hears_when_the_citizen_enters_the_waiting_room(booking, counselor):
    message = hear_the_citizen_arrive(booking, signed_in_headers(counselor))

    assert message["type"] == "appointment"
    summary = message["appointment"]
    assert summary["id"] == str(booking.appointment.public_id)
    assert summary["status"] == "waiting"
    assert summary["citizen"]["name"] == "Dana Yilmaz"
    assert summary["citizen"]["browser"].startswith("Firefox")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_day_view_hears_in_the_language_its_page_speaks(booking, counselor, language):
    headers = [*signed_in_headers(counselor), (b"accept-language", f"{language};q=0.9".encode())]

    summary = hear_the_citizen_arrive(booking, headers)["appointment"]

    with translation.override(language):
        assert summary["statusLabel"] == str(Status.WAITING.label)


@pytest.mark.django_db(transaction=True)
def test_the_day_view_of_another_agency_hears_nothing(booking, outsider):
    Participant.objects.filter(pk=booking.citizen.pk).update(consented_at=timezone.now())

    headers = signed_in_headers(outsider)

    async def scenario():
        socket = staff_socket(headers)
        connected, _ = await socket.connect()
        assert connected
        await sync_to_async(calls.arrive)(booking.citizen)
        nothing = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return nothing

    assert async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_the_staff_socket_refuses_a_stranger(db):
    from videotermin.asgi import application

    async def scenario():
        socket = WebsocketCommunicator(
            application, "/ws/staff/", headers=[(b"origin", b"http://localhost")]
        )
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    assert not async_to_sync(scenario)()


# The demo


def test_the_demo_runs_twice_and_prints_a_working_link(db, settings):
    for _ in range(2):
        out = StringIO()
        call_command("demo", stdout=out)
    printed = out.getvalue()
    assert "berater" in printed
    password = re.search(r"password:\s+(\S+)", printed).group(1)
    token = re.search(r"/j/([\w-]+)/", printed).group(1)
    assert services.resolve_link(token).name == "Erika Mustermann"
    client = Client()
    response = client.post(reverse("staff:login"), {"username": "berater", "password": password})
    assert response.status_code == 302
    assert Appointment.objects.filter(citizen_email="erika@example.org").count() == 1
