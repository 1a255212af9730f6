"""The staff workspace: sign-in, the day view, booking and changes, the people page, live
updates, the demo. Alice is the counselor, Bob her colleague, Charlie of another agency; Dana is
the citizen and Olga her interpreter."""

import re
from datetime import timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from tests.personas import PASSWORD, interpreter_invitee

from videotermin.appointments import services
from videotermin.appointments.models import MAX_MEMBERS, Appointment, Member, Status
from videotermin.calls import services as calls
from videotermin.staff.live import describe

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


def extras_data(*rows: dict) -> dict:
    """The booking form's extra participants: the management form and one entry per row."""
    data = {
        "extra-TOTAL_FORMS": str(len(rows)),
        "extra-INITIAL_FORMS": "0",
        "extra-MIN_NUM_FORMS": "0",
        "extra-MAX_NUM_FORMS": "4",
    }
    for number, row in enumerate(rows):
        data |= {f"extra-{number}-{name}": value for name, value in row.items()}
    return data


OLGA_ROW = {
    "role": "interpreter",
    "name": "Olga Kowalenko",
    "email": "olga@example.org",
    "language": "en",
}


def form_data(location, starts_at, *, extras=(), **extra):
    return {
        "citizen_name": "Emil Sommer",
        "citizen_email": "emil@example.org",
        "language": "en",
        "customer_number": "123D456789",
        "location": location.pk,
        "starts_at": timezone.localtime(starts_at, BERLIN).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": 30,
        **extras_data(*extras),
        **extra,
    }


def token_in(message) -> str:
    return re.search(r"/j/([\w-]+)/", message.body).group(1)


def reason_of(token: str) -> str:
    with pytest.raises(services.LinkError) as error:
        services.resolve_link(token)
    return error.value.reason


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


def test_the_date_switch_shows_another_day(alice, book):
    booking = book(
        starts_in=timedelta(days=20),
        name="Fritz Later",
        email="fritz@example.org",
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
    Member.objects.filter(pk=citizen.pk).update(
        consented_at=timezone.now(),
        presence=Member.Presence.WAITING,
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


def test_the_day_view_names_the_extra_people_and_links_to_the_people_page(
    alice, interpreter_booking
):
    html = alice.get(reverse("staff:day"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "+ Olga Kowalenko (interpreter)" in html
    assert reverse("staff:people", args=[interpreter_booking.appointment.public_id]) in html


def test_a_waiting_interpreter_shows_the_appointment_as_waiting(alice, interpreter_booking):
    [(olga, _token)] = interpreter_booking.extras
    Member.objects.filter(pk=olga.pk).update(
        consented_at=timezone.now(), presence=Member.Presence.WAITING
    )
    html = alice.get(reverse("staff:day"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-status="waiting"' in html
    assert "+ Olga Kowalenko (interpreter), waiting" in html


# Booking and changes


def test_booking_sends_the_invitation(alice, location, django_capture_on_commit_callbacks):
    starts_at = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("staff:create"), form_data(location, starts_at))
    assert response.status_code == 302
    citizen = Member.objects.get(email="emil@example.org")
    assert (citizen.role, citizen.name) == (Member.Role.CITIZEN, "Emil Sommer")
    assert citizen.language == "en"
    assert citizen.customer_number == "123D456789"
    assert citizen.appointment.counselor.get_username() == "alice"
    [message] = mail.outbox
    assert message.to == ["emil@example.org"]
    assert re.search(r"/j/[\w-]{32}/", message.body)
    assert any(kind == "text/html" for _, kind in message.alternatives)
    assert "METHOD:REQUEST" in str(message.attachments[0][1])
    assert "Emil Sommer" in alice.get(response.url).content.decode()  # the success message


def test_a_start_far_in_the_future_is_refused_and_nothing_is_booked(
    alice, location, django_capture_on_commit_callbacks
):
    data = form_data(location, timezone.now(), duration_minutes=480)
    data["starts_at"] = "9999-12-31T23:00"
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("staff:create"), data)
    assert response.status_code == 200
    assert "Der Beginn liegt zu weit in der Zukunft." in response.content.decode()
    assert not Appointment.objects.exists() and not Member.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2400-02-29"])
def test_the_day_view_of_a_day_at_the_calendars_edge_shows_today(alice, day):
    response = alice.get(reverse("staff:day"), {"day": day})
    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()


def test_the_start_is_read_in_the_agencys_time_zone(alice, location):
    starts_at = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    alice.post(reverse("staff:create"), form_data(location, starts_at))
    assert Appointment.objects.get(members__email="emil@example.org").starts_at == starts_at


def test_the_booking_form_offers_rows_for_extra_participants(alice):
    html = alice.get(reverse("staff:create")).content.decode()
    assert 'name="extra-TOTAL_FORMS"' in html
    assert 'name="extra-MAX_NUM_FORMS" value="4"' in html
    assert 'name="extra-0-role"' in html and 'name="extra-1-email"' in html
    assert '<option value="interpreter">' in html


def test_booking_with_an_interpreter_invites_her_too(
    alice, location, django_capture_on_commit_callbacks
):
    starts_at = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(
            reverse("staff:create"), form_data(location, starts_at, extras=[OLGA_ROW])
        )
    assert response.status_code == 302
    olga = Member.objects.get(email="olga@example.org")
    assert (olga.role, olga.name, olga.language) == ("interpreter", "Olga Kowalenko", "en")
    assert olga.appointment.citizen().email == "emil@example.org"
    assert sorted(m.to[0] for m in mail.outbox) == ["emil@example.org", "olga@example.org"]
    [for_olga] = [m for m in mail.outbox if m.to == ["olga@example.org"]]
    assert services.resolve_link(token_in(for_olga)) == olga


def test_booking_refuses_more_extra_participants_than_fit(alice, location):
    rows = [{**OLGA_ROW, "email": f"person{n}@example.org"} for n in range(MAX_MEMBERS - 1)]
    response = alice.post(
        reverse("staff:create"),
        form_data(location, timezone.now() + timedelta(days=1), extras=rows),
    )
    assert response.status_code == 200
    assert response.context["extras"].non_form_errors()
    assert not Appointment.objects.exists()


def test_booking_refuses_an_extra_participant_without_an_address(alice, location):
    row = {**OLGA_ROW, "email": ""}
    response = alice.post(
        reverse("staff:create"),
        form_data(location, timezone.now() + timedelta(days=1), extras=[row]),
    )
    assert response.status_code == 200
    assert "email" in response.context["extras"].forms[0].errors
    assert not Appointment.objects.exists()


def test_booking_with_the_untouched_extra_rows_a_browser_sends_books_nobody_else(alice, location):
    # What a browser submits for the two empty rows: the selects' first or selected option.
    untouched = {"role": "interpreter", "name": "", "email": "", "language": "de"}
    response = alice.post(
        reverse("staff:create"),
        form_data(location, timezone.now() + timedelta(days=1), extras=[untouched, untouched]),
    )
    assert response.status_code == 302
    [appointment] = Appointment.objects.all()
    assert [m.role for m in appointment.externals()] == ["citizen"]


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
    data = dana_form_data(location, new_start)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("staff:edit", args=[appointment.public_id]), data)
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == new_start.replace(second=0, microsecond=0)
    [message] = mail.outbox
    assert message.to == ["dana@example.org"]
    assert "METHOD:REQUEST" in str(message.attachments[0][1])


def dana_form_data(location, starts_at, **changes):
    """The edit form as it comes filled in for Dana's appointment, with some changes."""
    dana = {
        "citizen_name": "Dana Yilmaz",
        "citizen_email": "dana@example.org",
        "language": "de",
        "customer_number": "",
    }
    return form_data(location, starts_at, **{**dana, **changes})


def test_the_edit_form_comes_filled_in_with_the_citizens_details(alice, book):
    booking = book(customer_number="123D456789")
    form = alice.get(reverse("staff:edit", args=[booking.appointment.public_id])).context["form"]
    assert form.initial["citizen_name"] == "Dana Yilmaz"
    assert form.initial["citizen_email"] == "dana@example.org"
    assert form.initial["customer_number"] == "123D456789"


@pytest.fixture
def on_the_minute(book):
    """Dana's appointment as the booking form makes it: its start on a whole minute."""
    starts_at = (timezone.now() + timedelta(minutes=3)).replace(second=0, microsecond=0)
    return book(starts_at=starts_at)


def test_correcting_the_citizens_address_in_the_edit_form_invites_the_new_address(
    alice, on_the_minute, location, django_capture_on_commit_callbacks
):
    booking = on_the_minute
    appointment = booking.appointment
    data = dana_form_data(location, appointment.starts_at, citizen_email="dana.y@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("staff:edit", args=[appointment.public_id]), data)
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["dana.y@example.org"]
    assert services.resolve_link(token_in(message)) == booking.citizen
    assert reason_of(booking.token) == "replaced"


def test_a_change_of_time_reaches_the_interpreter_too(
    alice, interpreter_booking, location, django_capture_on_commit_callbacks
):
    appointment = interpreter_booking.appointment
    data = dana_form_data(location, appointment.starts_at + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        alice.post(reverse("staff:edit", args=[appointment.public_id]), data)
    assert sorted(m.to[0] for m in mail.outbox) == ["dana@example.org", "olga@example.org"]


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
    assert reason_of(booking.token) == "cancelled"


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
    assert message.to == ["dana@example.org"]
    assert booking.token not in message.body
    assert services.resolve_link(token_in(message)) == booking.citizen
    assert services.resolve_link(booking.token) == booking.citizen


def test_the_counselor_opens_the_room(alice, appointment):
    response = alice.get(reverse("staff:room", args=[appointment.public_id]))
    assert response.status_code == 200
    assert "calls/room.html" in [template.name for template in response.templates]
    assert response.context["staff_room"] is True
    assert response.context["ws_path"] == f"/ws/room/{appointment.public_id}/"
    assert response.context["title_name"] == "Dana Yilmaz"
    html = response.content.decode()
    assert 'id="invite-form"' in html
    assert f'action="{reverse("staff:people", args=[appointment.public_id])}"' in html


def test_bob_opens_the_room_of_alices_appointment(client, colleague, appointment):
    client.force_login(colleague)
    response = client.get(reverse("staff:room", args=[appointment.public_id]))
    assert response.status_code == 200
    assert response.context["staff_room"] is True
    assert response.context["title_name"] == "Dana Yilmaz"


# The people page


def people_url(appointment) -> str:
    return reverse("staff:people", args=[appointment.public_id])


def member_url(name: str, member) -> str:
    return reverse(f"staff:{name}", args=[member.appointment.public_id, member.public_id])


@pytest.fixture
def olga(interpreter_booking):
    return interpreter_booking.extras[0][0]


def test_the_people_page_lists_everyone_with_their_role(alice, interpreter_booking, olga):
    response = alice.get(people_url(interpreter_booking.appointment), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    for name, email in (
        ("Dana Yilmaz", "dana@example.org"),
        ("Olga Kowalenko", "olga@example.org"),
    ):
        assert name in html and email in html
    assert "Alice Berger" in html
    assert "interpreter" in html and "citizen" in html
    assert member_url("edit_member", olga) in html
    assert member_url("remove_member", olga) in html
    assert member_url("resend_member", olga) in html
    host = interpreter_booking.appointment.members.get(role="host")
    assert str(host.public_id) in html
    assert member_url("edit_member", host) not in html  # staff are not invited by link


def test_alice_invites_someone_from_the_people_page(
    alice, appointment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(people_url(appointment), OLGA_ROW)
    assert response.status_code == 302
    assert response.url == people_url(appointment)
    olga = appointment.members.get(role="interpreter")
    assert (olga.name, olga.email, olga.language) == ("Olga Kowalenko", "olga@example.org", "en")
    [message] = mail.outbox
    assert message.to == ["olga@example.org"]
    assert services.resolve_link(token_in(message)) == olga
    assert "olga@example.org" in alice.get(response.url).content.decode()  # the success message


def test_the_room_page_invites_someone_without_leaving_the_call(
    alice, appointment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(people_url(appointment), OLGA_ROW, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    answer = response.json()
    olga = appointment.members.get(role="interpreter")
    assert answer["member"] == str(olga.public_id)
    assert "olga@example.org" in answer["message"]
    assert [m.to for m in mail.outbox] == [["olga@example.org"]]


def test_the_room_page_hears_why_an_invitation_was_refused(alice, appointment):
    response = alice.post(
        people_url(appointment),
        {**OLGA_ROW, "email": "not an address"},
        HTTP_ACCEPT="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error.startswith("E-mail address: ")
    assert not appointment.members.filter(role="interpreter").exists()


def test_a_seventh_person_is_refused_on_the_people_page(alice, book, colleague):
    booking = book(extras=[interpreter_invitee(email=f"p{n}@example.org") for n in range(3)])
    services.join_as_staff(booking.appointment, colleague)  # Bob makes six
    url = people_url(booking.appointment)
    page = alice.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "at most 6 people" in page
    assert 'name="email"' not in page  # no invitation form while the room is full
    refused = alice.post(url, OLGA_ROW, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert any("at most 6 people" in error for error in refused.json()["errors"])
    assert booking.appointment.members.count() == MAX_MEMBERS
    assert mail.outbox == []


def test_alice_changes_olgas_address_and_the_old_link_ends(
    alice, interpreter_booking, olga, django_capture_on_commit_callbacks
):
    old_token = interpreter_booking.extras[0][1]
    url = member_url("edit_member", olga)
    form = alice.get(url)
    assert form.status_code == 200
    assert form.context["form"].initial == {
        "name": "Olga Kowalenko",
        "email": "olga@example.org",
        "language": "en",
    }
    data = {"name": "Olga Kowalenko", "email": "olga.k@example.org", "language": "en"}
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(url, data)
    assert response.status_code == 302
    assert response.url == people_url(interpreter_booking.appointment)
    olga.refresh_from_db()
    assert olga.email == "olga.k@example.org"
    [message] = mail.outbox
    assert message.to == ["olga.k@example.org"]
    assert reason_of(old_token) == "replaced"


def test_a_new_name_alone_is_saved_without_an_e_mail(
    alice, olga, django_capture_on_commit_callbacks
):
    data = {"name": "Olga Kowalenko-Berg", "email": "olga@example.org", "language": "en"}
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.post(member_url("edit_member", olga), data).status_code == 302
    olga.refresh_from_db()
    assert olga.name == "Olga Kowalenko-Berg"
    assert mail.outbox == []


def test_alice_removes_olga_after_asking_first(
    alice, interpreter_booking, olga, django_capture_on_commit_callbacks
):
    url = member_url("remove_member", olga)
    page = alice.get(url)
    assert page.status_code == 200
    assert "Olga Kowalenko" in page.content.decode()
    olga.refresh_from_db()
    assert olga.removed_at is None
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(url)
    assert response.status_code == 302
    assert response.url == people_url(interpreter_booking.appointment)
    olga.refresh_from_db()
    assert olga.removed_at is not None
    assert reason_of(interpreter_booking.extras[0][1]) == "removed"
    [message] = mail.outbox
    assert message.to == ["olga@example.org"]
    assert "has taken you off" in " ".join(message.body.split())
    people = alice.get(response.url).content.decode()
    assert f'data-member="{olga.public_id}"' not in people


def test_a_removed_person_has_no_pages_any_more(alice, olga, counselor):
    services.remove_member(olga, by=counselor)
    assert alice.get(member_url("edit_member", olga)).status_code == 404
    assert alice.post(member_url("remove_member", olga)).status_code == 404
    assert alice.post(member_url("resend_member", olga)).status_code == 404


def test_alice_resends_olgas_invitation(alice, olga, django_capture_on_commit_callbacks):
    url = member_url("resend_member", olga)
    assert alice.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(url)
    assert response.status_code == 302
    assert response.url == people_url(olga.appointment)
    [message] = mail.outbox
    assert message.to == ["olga@example.org"]
    assert services.resolve_link(token_in(message)) == olga


def test_staff_members_are_not_changed_or_removed_from_the_people_page(alice, appointment):
    host = appointment.members.get(role="host")
    assert alice.get(member_url("edit_member", host)).status_code == 404
    assert alice.post(member_url("remove_member", host)).status_code == 404
    host.refresh_from_db()
    assert host.removed_at is None


@pytest.mark.parametrize("name", ["edit_member", "remove_member"])
def test_charlie_of_another_agency_gets_404_on_the_people_pages(charlie, olga, name):
    assert charlie.get(people_url(olga.appointment)).status_code == 404
    assert charlie.get(member_url(name, olga)).status_code == 404


def test_charlie_of_another_agency_cannot_invite_change_remove_or_resend(
    charlie, interpreter_booking, olga, django_capture_on_commit_callbacks
):
    appointment = interpreter_booking.appointment
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            charlie.post(people_url(appointment), OLGA_ROW),
            charlie.post(people_url(appointment), OLGA_ROW, HTTP_ACCEPT="application/json"),
            charlie.post(
                member_url("edit_member", olga),
                {"name": "Charlie", "email": "charlie@example.org", "language": "de"},
            ),
            charlie.post(member_url("remove_member", olga)),
            charlie.post(member_url("resend_member", olga)),
        ]
    assert [r.status_code for r in responses] == [404] * 5
    olga.refresh_from_db()
    assert (olga.name, olga.email, olga.removed_at) == ("Olga Kowalenko", "olga@example.org", None)
    assert appointment.members.count() == 3
    assert mail.outbox == []


def test_a_member_of_another_appointment_is_not_found_through_this_one(alice, olga, book):
    other = book(name="Emil Novak", email="emil@example.org").appointment
    url = reverse("staff:edit_member", args=[other.public_id, olga.public_id])
    assert alice.get(url).status_code == 404


def test_nobody_is_invited_to_a_cancelled_appointment(alice, appointment, counselor):
    services.cancel_appointment(appointment, by=counselor)
    page = alice.get(people_url(appointment)).content.decode()
    assert 'name="email"' not in page
    response = alice.post(people_url(appointment), OLGA_ROW, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert not appointment.members.filter(role="interpreter").exists()


# Live updates


def signed_in_headers(user) -> list[tuple[bytes, bytes]]:
    """The headers of a browser tab in which the user has signed in."""
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    origin = settings.SITE_URL.encode()
    return [(b"cookie", cookie.encode()), (b"origin", origin), (b"host", b"localhost")]


def staff_socket(headers) -> WebsocketCommunicator:
    from videotermin.asgi import application

    return WebsocketCommunicator(application, "/ws/staff/", headers=headers)


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def arrive(member, user_agent: str = "") -> Member:
    """The member's room page connects."""
    return calls.connect(member, session="d" * 16, channel="dana-channel", user_agent=user_agent)


def hear_the_citizen_arrive(booking, headers) -> dict:
    """What a day view connected with these headers hears when the citizen enters the room."""
    Member.objects.filter(pk=booking.citizen.pk).update(consented_at=timezone.now())

    async def scenario():
        socket = staff_socket(headers)
        connected, _ = await socket.connect()
        assert connected
        await sync_to_async(arrive)(booking.citizen, user_agent=FIREFOX)
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
    Member.objects.filter(pk=booking.citizen.pk).update(consented_at=timezone.now())

    headers = signed_in_headers(outsider)

    async def scenario():
        socket = staff_socket(headers)
        connected, _ = await socket.connect()
        assert connected
        await sync_to_async(arrive)(booking.citizen)
        nothing = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return nothing

    assert async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_a_citizen_arriving_with_her_devices_and_check_reaches_the_day_view_as_one_row(
    booking, counselor
):
    Member.objects.filter(pk=booking.citizen.pk).update(consented_at=timezone.now())
    headers = signed_in_headers(counselor)

    def arrive_with_everything() -> None:
        member = arrive(booking.citizen, user_agent=FIREFOX)
        member = calls.update_status(member, camera=True, microphone=True)
        calls.update_status(member, check={"result": "green", "details": {}})

    async def scenario():
        socket = staff_socket(headers)
        assert (await socket.connect())[0]
        await sync_to_async(arrive_with_everything)()
        message = await socket.receive_json_from(timeout=5)
        more = not await socket.receive_nothing(timeout=0.6)
        await socket.disconnect()
        return message, more

    message, more = async_to_sync(scenario)()
    # Three changes in a moment: one row, and it shows the last of them.
    assert not more, "the day view was sent a row per change"
    citizen = message["appointment"]["citizen"]
    assert (citizen["presence"], citizen["camera"], citizen["microphone"], citizen["check"]) == (
        "waiting",
        True,
        True,
        "green",
    )


@pytest.mark.django_db(transaction=True)
def test_many_open_day_views_cost_one_description_of_a_change_per_language(
    booking, counselor, colleague, monkeypatch
):
    from videotermin.staff import consumers as day_consumers

    Member.objects.filter(pk=booking.citizen.pk).update(consented_at=timezone.now())
    described = []
    real = day_consumers.describe_in_agency
    monkeypatch.setattr(
        day_consumers,
        "describe_in_agency",
        lambda *args: described.append(translation.get_language()) or real(*args),
    )
    german = [*signed_in_headers(counselor), (b"accept-language", b"de")]
    english = [*signed_in_headers(colleague), (b"accept-language", b"en")]

    async def scenario():
        sockets = [staff_socket(german) for _ in range(6)] + [
            staff_socket(english) for _ in range(4)
        ]
        for socket in sockets:
            assert (await socket.connect())[0]
        await sync_to_async(arrive)(booking.citizen)
        heard = [await socket.receive_json_from(timeout=5) for socket in sockets]
        for socket in sockets:
            await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    assert {message["appointment"]["status"] for message in heard} == {"waiting"}
    assert sorted(described) == ["de", "en"]


def test_the_day_views_summary_names_the_extra_people(interpreter_booking, counselor, outsider):
    appointment_id = str(interpreter_booking.appointment.public_id)
    with translation.override("en"):
        summary = describe(appointment_id, counselor)
    assert summary["citizen"]["name"] == "Dana Yilmaz"
    assert summary["extras"] == [
        {
            "name": "Olga Kowalenko",
            "role": "interpreter",
            "roleLabel": "interpreter",
            "presence": "away",
        }
    ]
    assert describe(appointment_id, outsider) is None


@pytest.mark.django_db(transaction=True)
def test_the_staff_socket_refuses_a_stranger(db):
    from videotermin.asgi import application

    async def scenario():
        socket = WebsocketCommunicator(
            application, "/ws/staff/", headers=[(b"origin", settings.SITE_URL.encode())]
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
    tokens = re.findall(r"/j/([\w-]+)/", printed)
    members = [services.resolve_link(token) for token in tokens]
    assert [(m.name, m.role) for m in members] == [
        ("Erika Mustermann", "citizen"),
        ("Olena Koval", "interpreter"),
    ]
    client = Client()
    response = client.post(reverse("staff:login"), {"username": "berater", "password": password})
    assert response.status_code == 302
    assert Appointment.objects.filter(members__email="erika@example.org").count() == 1


def test_correcting_the_address_and_the_time_at_once_sends_one_working_invitation(
    alice, booking, location, django_capture_on_commit_callbacks
):
    """Booked with seconds (as the demo books), changed in the form that shows minutes."""
    appointment = booking.appointment
    later = appointment.starts_at + timedelta(hours=1)
    data = dana_form_data(location, later, citizen_email="dana.y@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        alice.post(reverse("staff:edit", args=[appointment.public_id]), data)
    [message] = mail.outbox
    assert message.to == ["dana.y@example.org"]
    assert services.resolve_link(token_in(message)) == booking.citizen


def test_saving_the_edit_form_unchanged_sends_nothing_although_the_start_has_seconds(
    alice, booking, location, django_capture_on_commit_callbacks
):
    appointment = booking.appointment
    assert appointment.starts_at.second or appointment.starts_at.microsecond
    data = dana_form_data(location, appointment.starts_at)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("staff:edit", args=[appointment.public_id]), data)
    assert response.status_code == 302
    assert mail.outbox == []
