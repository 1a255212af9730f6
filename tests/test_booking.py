"""Self-service booking (J14, J1): Erik registered online as a job seeker and books his first video
consultation himself, through the booking link the agency's systems sent him or on the agency's
public booking page with an e-mail confirmation; he moves or cancels it through his personal
link. Alice is the counselor whose hours he books, Charlie works for another agency."""

import re
from datetime import time, timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.booking_helpers import confirmation_token, invite, mail_to, publish, turn_on_page
from tests.personas import make_staff

from videotermin.agencies.actors import AgencySystem
from videotermin.appointments.models import Appointment, Link, Member
from videotermin.appointments.services import NotAllowed
from videotermin.audit.models import AuditEntry
from videotermin.booking import services, slots
from videotermin.booking.models import Hold, Invitation, SelfBooking
from videotermin.booking.tasks import delete_expired_holds
from videotermin.lib.tokens import hash_token

ERIK = "erik@example.org"
SLOT = re.compile(r'name="slot" value="([^"]+)"')


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def hours(agency, location, counselor):
    """Alice's video-consultation hours: every day from 8 to 12, bookable from now on."""
    return publish(agency, location, counselor)


def offered(response) -> list[str]:
    return SLOT.findall(response.content.decode())


def start_of(key: str):
    return slots.parse_key(key)[1]


def opened(client: Client, token: str):
    """Erik opens his booking link; returns the page it leads to."""
    response = client.get(reverse("booking:invitation_link", args=[token]))
    assert response.status_code == 302, response.content.decode()[:500]
    assert token not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    return client.get(response["Location"])


def token_in(message) -> str:
    return re.search(r"/j/([\w-]+)/", message.body).group(1)


# The booking link


def test_a_booking_link_keeps_only_the_hash_of_its_secret(agency, hours):
    invitation, token = invite(agency)
    assert len(token) >= 32
    assert invitation.token_hash == hash_token(token)
    assert token not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    entry = AuditEntry.objects.get(action="videotermin.booking.invitation_issued")
    assert entry.data["invitation"] == str(invitation.public_id)
    assert "erik" not in str(entry.data).lower()


def test_erik_books_a_free_slot_through_his_booking_link_and_lands_on_his_start_page(
    client, agency, hours, counselor, django_capture_on_commit_callbacks
):
    invitation, token = invite(agency)
    page = opened(client, token)
    assert page.status_code == 200
    keys = offered(page)
    assert keys, "no free slots offered"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page.request["PATH_INFO"], {"slot": keys[1]})
    appointment = Appointment.objects.get()
    citizen = appointment.citizen()
    assert response.status_code == 302
    assert response["Location"] == reverse("journey:start", args=[citizen.public_id])
    start_page = client.get(response["Location"])
    assert start_page.status_code == 200
    assert (appointment.counselor, appointment.location) == (counselor, hours.location)
    assert appointment.starts_at == start_of(keys[1])
    assert appointment.duration_minutes == 30
    assert (citizen.name, citizen.email, citizen.customer_number) == (
        "Erik Sommer",
        ERIK,
        "123D456",
    )
    [invitation_mail] = mail_to(ERIK)
    assert Link.objects.filter(member=citizen, token_hash=hash_token(token_in(invitation_mail)))
    created = AuditEntry.objects.get(action="videotermin.appointment.created")
    assert created.actor_ref == f"booking:{invitation.public_id}"
    assert SelfBooking.objects.get(appointment=appointment).source == "invitation"
    invitation.refresh_from_db()
    assert invitation.used_at is not None
    assert (invitation.name, invitation.email, invitation.customer_number) == ("", "", "")


def test_a_booking_link_books_once(client, agency, hours):
    _invitation, token = invite(agency)
    page = opened(client, token)
    client.post(page.request["PATH_INFO"], {"slot": offered(page)[0]})
    again = Client().get(reverse("booking:invitation_link", args=[token]))
    assert again.status_code == 410
    assert "Dieser Buchungslink wurde bereits verwendet" in again.content.decode()
    second = client.post(page.request["PATH_INFO"], {"slot": offered(page)[0]})
    assert second.status_code == 410
    assert Appointment.objects.count() == 1


def test_an_expired_booking_link_says_so_in_the_persons_language(client, agency, hours):
    invitation, token = invite(agency, language="en")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(reverse("booking:invitation_link", args=[token]))
    assert response.status_code == 410
    page = response.content.decode()
    assert 'lang="en"' in page
    assert "This booking link has expired" in page
    assert "contact the agency for a new link" in page


def test_a_wrong_booking_link_gets_a_clear_page(client, db):
    response = client.get(
        reverse("booking:invitation_link", args=["not-a-real-link-" + "x" * 20]),
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 404
    page = response.content.decode()
    assert 'lang="fr"' in page
    assert "Ce lien de réservation n’est pas valide" in page
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_booking_links_page_opens_only_in_the_browser_that_opened_the_link(client, agency, hours):
    invitation, token = invite(agency)
    opened(client, token)
    stranger = Client().get(reverse("booking:invitation", args=[invitation.public_id]))
    assert stranger.status_code == 403
    assert "Bitte öffnen Sie Ihren Buchungslink erneut" in stranger.content.decode()


def test_a_slot_taken_meanwhile_gets_a_clear_message_and_the_remaining_slots(
    client, agency, hours, book
):
    _invitation, token = invite(agency, language="en")
    page = opened(client, token)
    first, second = offered(page)[:2]
    book(starts_at=start_of(first))  # Alice booked it for somebody by hand
    response = client.post(page.request["PATH_INFO"], {"slot": first})
    assert response.status_code == 409
    text = response.content.decode()
    assert "someone else has just booked this time" in text
    assert first not in offered(response) and second in offered(response)
    assert Appointment.objects.count() == 1


def test_choosing_no_time_asks_for_one(client, agency, hours):
    _invitation, token = invite(agency, language="en")
    page = opened(client, token)
    response = client.post(page.request["PATH_INFO"], {})
    assert response.status_code == 400
    assert "Please choose a time." in response.content.decode()


def test_a_forged_slot_is_not_booked(client, agency, hours):
    _invitation, token = invite(agency)
    page = opened(client, token)
    key = offered(page)[0]
    schedule_id, _dot, seconds = key.partition(".")
    for forged in (f"{schedule_id}.{int(seconds) + 60}", f"{schedule_id}.1", "junk"):
        response = client.post(page.request["PATH_INFO"], {"slot": forged})
        assert response.status_code == 409
    assert not Appointment.objects.exists()


def test_a_booking_link_for_one_counselor_offers_only_their_hours(
    client, agency, location, hours, colleague
):
    bobs = publish(agency, location, colleague, starts=time(14), ends=time(15))
    _invitation, token = invite(agency, counselor=colleague)
    keys = offered(opened(client, token))
    assert keys and all(key.startswith(str(bobs.public_id)) for key in keys)


def test_a_booked_slot_is_announced_to_the_agencys_day_views(
    client, agency, hours, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"agency.{agency.pk}", channel)
    _invitation, token = invite(agency)
    page = opened(client, token)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page.request["PATH_INFO"], {"slot": offered(page)[0]})
    event = async_to_sync(layer.receive)(channel)
    assert (event["type"], event["appointment"]) == (
        "appointment.changed",
        str(Appointment.objects.get().public_id),
    )


def test_booking_links_are_issued_only_for_the_agency_by_its_staff_or_systems(
    agency, other_agency, outsider, counselor, location
):
    with pytest.raises(NotAllowed):
        services.issue_booking_invitation(
            agency, by=outsider, language="de", name="Erik", email=ERIK
        )
    with pytest.raises(NotAllowed):
        services.issue_booking_invitation(
            agency,
            by=AgencySystem(agency_id=other_agency.pk, audit_ref="apikey:1"),
            language="de",
            name="Erik",
            email=ERIK,
        )
    with pytest.raises(NotAllowed):
        invite(agency, counselor=outsider)
    invitation, _token = services.issue_booking_invitation(
        agency,
        by=AgencySystem(agency_id=agency.pk, audit_ref="apikey:7", label="Terminsystem"),
        location=location,
        language="tr",
        name="Erik",
        email=ERIK,
    )
    entry = AuditEntry.objects.get(action="videotermin.booking.invitation_issued")
    assert (entry.actor_ref, invitation.language) == ("apikey:7", "tr")


def test_the_command_issues_a_booking_link_that_opens(agency, hours, client):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "bookinglink",
        agency.slug,
        ERIK,
        name="Erik Sommer",
        language="uk",
        stdout=out,
        stderr=StringIO(),
    )
    link = out.getvalue().strip()
    token = re.search(r"/booking/i/([\w-]+)/$", link).group(1)
    page = opened(client, token)
    assert page.status_code == 200 and 'lang="uk"' in page.content.decode()


# The public booking page


@pytest.fixture
def public_page(agency, hours):
    return turn_on_page(agency)


def page_url(agency) -> str:
    return reverse("booking:page", args=[agency.slug])


def request_slot(client, agency, key, email=ERIK, address="203.0.113.7", language="de"):
    data = {"slot": key, "name": "Erik Sommer", "email": email, "customer_number": ""}
    return client.post(page_url(agency), data, REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)


def test_the_public_page_is_there_only_when_the_agency_switched_it_on(client, agency, hours):
    assert client.get(page_url(agency)).status_code == 404
    page = turn_on_page(agency)
    assert client.get(page_url(agency)).status_code == 200
    page.enabled = False
    page.save()
    assert client.get(page_url(agency)).status_code == 404


def test_erik_holds_a_slot_on_the_public_page_and_books_it_by_confirming_the_email(
    client, agency, public_page, counselor, django_capture_on_commit_callbacks
):
    page = client.get(page_url(agency), HTTP_ACCEPT_LANGUAGE="en")
    key = offered(page)[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = request_slot(client, agency, key, language="en")
    assert response.status_code == 302
    held = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Please confirm by e-mail" in held
    hold = Hold.objects.get()
    assert (hold.counselor, hold.starts_at, hold.language) == (counselor, start_of(key), "en")
    # Held: nobody else is offered it.
    assert key not in offered(Client().get(page_url(agency)))
    assert not Appointment.objects.exists()
    [confirmation] = mail.outbox
    assert confirmation.to == [ERIK]
    assert confirmation.subject.startswith("Please confirm your video appointment")
    token = confirmation_token(confirmation)
    assert hold.token_hash == hash_token(token)

    # In another browser (the phone the mail was read on); opening the link books nothing.
    phone = Client()
    opened_link = phone.get(reverse("booking:confirm_link", args=[token]))
    assert opened_link.status_code == 302 and token not in opened_link["Location"]
    confirm_page = phone.get(opened_link["Location"])
    assert confirm_page.status_code == 200
    assert "Confirm the appointment" in confirm_page.content.decode()
    assert not Appointment.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        booked = phone.post(opened_link["Location"])
    appointment = Appointment.objects.get()
    assert booked["Location"] == reverse("journey:start", args=[appointment.citizen().public_id])
    assert phone.get(booked["Location"]).status_code == 200
    assert (appointment.starts_at, appointment.counselor) == (start_of(key), counselor)
    assert appointment.citizen().language == "en"
    assert not Hold.objects.exists()
    assert len(mail_to(ERIK)) == 2  # the confirmation, then the invitation
    assert "/j/" in mail_to(ERIK)[1].body
    entry = AuditEntry.objects.get(action="videotermin.appointment.created")
    assert entry.actor_ref == f"booking:{public_page.public_id}"
    # The confirmation link has done its work.
    assert Client().get(reverse("booking:confirm_link", args=[token])).status_code == 410


def test_an_unconfirmed_hold_is_deleted_with_what_erik_typed_when_it_expires(
    client, agency, public_page, django_capture_on_commit_callbacks
):
    key = offered(client.get(page_url(agency)))[0]
    with django_capture_on_commit_callbacks(execute=True):
        request_slot(client, agency, key)
    token = confirmation_token(mail.outbox[0])
    delete_expired_holds.call()
    assert Hold.objects.count() == 1  # not yet
    Hold.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    delete_expired_holds.call()
    assert not Hold.objects.exists()
    assert not Hold.objects.filter(email=ERIK).exists()
    assert key in offered(Client().get(page_url(agency)))
    late = Client().get(reverse("booking:confirm_link", args=[token]))
    assert late.status_code == 410
    assert "Dieser Bestätigungslink funktioniert nicht mehr" in late.content.decode()


def test_choosing_again_replaces_the_earlier_hold_of_the_same_address(client, agency, public_page):
    first, second = offered(client.get(page_url(agency)))[:2]
    request_slot(client, agency, first)
    request_slot(client, agency, second)
    assert [h.starts_at for h in Hold.objects.all()] == [start_of(second)]


def test_the_public_page_cannot_flood_a_mailbox(
    settings, agency, public_page, django_capture_on_commit_callbacks
):
    settings.BOOKING_EMAIL_LIMIT = "2/day"
    keys = offered(Client().get(page_url(agency)))
    for number, key in enumerate(keys[:3]):
        with django_capture_on_commit_callbacks(execute=True):
            response = request_slot(Client(), agency, key, address=f"198.51.100.{number}")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert len(mail.outbox) == 2
    # Another address is still served.
    with django_capture_on_commit_callbacks(execute=True):
        request_slot(Client(), agency, keys[3], email="mila@example.org")
    assert len(mail.outbox) == 3


def test_one_client_address_cannot_send_mail_to_many_mailboxes(
    settings, agency, public_page, django_capture_on_commit_callbacks
):
    settings.BOOKING_REQUEST_LIMIT = "3/hour"
    keys = offered(Client().get(page_url(agency)))
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            request_slot(Client(), agency, key, email=f"person{n}@example.org")
            for n, key in enumerate(keys[:4])
        ]
    assert [r.status_code for r in responses] == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    assert Hold.objects.count() == 3


def test_the_public_page_says_what_is_missing(client, agency, public_page):
    response = client.post(
        page_url(agency),
        {"name": "", "email": "not an address"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Please choose a time." in text
    assert "Enter a valid email address." in text
    assert not Hold.objects.exists() and not mail.outbox


@pytest.mark.parametrize(
    "slot",
    ["", "\x00", "é" * 5000, "a" * 36 + "." + "1" * 12, "../../etc/passwd", "1e9", "-1.-1"],
)
def test_the_public_page_takes_any_slot_calmly(client, agency, public_page, slot):
    response = request_slot(client, agency, slot)
    assert response.status_code in (400, 409)
    assert not Hold.objects.exists() and not mail.outbox


@pytest.mark.parametrize("token", ["x" * 129, "%00", "a" * 32 + "\u202e"])
def test_an_odd_booking_or_confirmation_link_is_just_unknown(client, db, token):
    assert client.get(reverse("booking:invitation_link", args=[token])).status_code == 404
    assert client.get(reverse("booking:confirm_link", args=[token])).status_code == 410


def test_a_locations_page_offers_only_that_locations_hours(client, agency, location, hours):
    north = location.__class__.objects.create(agency=agency, name="Musterstadt Nord")
    nora = make_staff(agency, north, "nora", "Nora Nord")
    norths = publish(agency, north, nora, starts=time(13), ends=time(14))
    turn_on_page(agency, north)
    url = reverse("booking:location_page", args=[agency.slug, north.public_id])
    keys = offered(client.get(url))
    assert keys and all(key.startswith(str(norths.public_id)) for key in keys)
    assert client.get(page_url(agency)).status_code == 404


# Moving and cancelling through the personal link


@pytest.fixture
def eriks_booking(client, agency, hours, django_capture_on_commit_callbacks):
    """Erik booked the first free slot through his booking link; this browser is his."""
    _invitation, token = invite(agency, language="en")
    page = opened(client, token)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page.request["PATH_INFO"], {"slot": offered(page)[0]})
    mail.outbox.clear()
    return Appointment.objects.get()


def manage_url(appointment) -> str:
    return reverse("booking:manage", args=[appointment.citizen().public_id])


def test_the_start_page_offers_moving_or_cancelling_only_what_erik_booked_himself(
    client, eriks_booking, book
):
    start = client.get(reverse("journey:start", args=[eriks_booking.citizen().public_id]))
    assert manage_url(eriks_booking) in start.content.decode()

    dana = book()  # Alice booked Dana's appointment by hand
    link = client.get(reverse("journey:link", args=[dana.token]))
    danas_start = client.get(link["Location"]).content.decode()
    assert "/booking/appointment/" not in danas_start
    assert client.get(reverse("booking:manage", args=[dana.citizen.public_id]))[
        "Location"
    ] == reverse("journey:start", args=[dana.citizen.public_id])


def test_erik_moves_his_appointment_to_another_free_slot_and_his_link_keeps_working(
    client, eriks_booking, hours, django_capture_on_commit_callbacks
):
    appointment = eriks_booking
    citizen = appointment.citizen()
    old_start = appointment.starts_at
    [old_link] = Link.objects.filter(member=citizen)
    page = client.get(manage_url(appointment))
    assert page.status_code == 200
    keys = offered(page)
    assert old_start not in [start_of(k) for k in keys]  # its own time is no other time
    new_key = next(k for k in keys if start_of(k) > old_start + timedelta(hours=1))
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"agency.{appointment.agency_id}", channel)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(manage_url(appointment), {"slot": new_key})
    assert response["Location"] == reverse("journey:start", args=[citizen.public_id])
    appointment.refresh_from_db()
    assert appointment.starts_at == start_of(new_key)
    assert appointment.cancelled_at is None
    [update] = mail_to(ERIK)
    assert update.subject.startswith("Changed: your video appointment")
    old_link.refresh_from_db()
    assert old_link.revoked_at is None
    assert client.get(response["Location"]).status_code == 200
    # The old time is free again, for anybody.
    free = [s.starts_at for s in slots.free_slots([hours])]
    assert old_start in free and appointment.starts_at not in free
    entry = AuditEntry.objects.get(action="videotermin.appointment.changed")
    assert entry.actor_ref.startswith("booking:")
    assert async_to_sync(layer.receive)(channel)["appointment"] == str(appointment.public_id)


def test_erik_cancels_his_appointment_and_the_time_is_free_again(
    client, eriks_booking, hours, django_capture_on_commit_callbacks
):
    appointment = eriks_booking
    url = reverse("booking:cancel", args=[appointment.citizen().public_id])
    assert "Yes, cancel my appointment" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 200
    assert "Your appointment has been cancelled" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.cancelled_at is not None
    [cancellation] = mail_to(ERIK)
    assert cancellation.subject.startswith("Cancelled: your video appointment")
    assert appointment.starts_at in [s.starts_at for s in slots.free_slots([hours])]
    gone = client.get(reverse("journey:start", args=[appointment.citizen().public_id]))
    assert gone.status_code == 410


def test_a_started_consultation_can_no_longer_be_moved_or_cancelled_here(client, eriks_booking):
    Appointment.objects.filter(pk=eriks_booking.pk).update(call_started_at=timezone.now())
    citizen = eriks_booking.citizen()
    assert client.get(manage_url(eriks_booking))["Location"] == reverse(
        "journey:start", args=[citizen.public_id]
    )
    with pytest.raises(services.BookingError):
        services.cancel(citizen)
    assert Appointment.objects.get().cancelled_at is None


def test_only_the_browser_that_opened_the_personal_link_reaches_the_change_page(
    eriks_booking,
):
    response = Client().get(manage_url(eriks_booking))
    assert response.status_code == 403
    assert (
        Client()
        .post(reverse("booking:cancel", args=[eriks_booking.citizen().public_id]))
        .status_code
        == 403
    )
    assert Appointment.objects.get().cancelled_at is None


def test_an_interpreter_cannot_move_the_citizens_appointment(eriks_booking, counselor):
    from tests.personas import interpreter_invitee

    from videotermin.appointments import services as appointments

    olga, _token = appointments.add_member(eriks_booking, interpreter_invitee(), by=counselor)
    assert services.self_booking_of(olga) is None
    with pytest.raises(services.BookingError):
        services.rebook(olga, "x")


# Languages


def test_the_booking_page_speaks_arabic_from_right_to_left(client, agency, hours):
    _invitation, token = invite(agency, language="ar")
    page = opened(client, token).content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "احجزوا موعدًا عبر الفيديو" in page
    assert 'name="slot"' in page


def test_the_booking_page_speaks_german_formally(client, agency, hours):
    _invitation, token = invite(agency, language="de")
    page = opened(client, token).content.decode()
    assert '<html lang="de" dir="ltr">' in page
    assert "Videotermin buchen" in page
    assert "Bitte wählen Sie eine Uhrzeit" in page


def test_the_confirmation_email_speaks_the_language_of_the_page(
    agency, public_page, django_capture_on_commit_callbacks
):
    client = Client()
    key = offered(client.get(page_url(agency)))[0]
    with django_capture_on_commit_callbacks(execute=True):
        request_slot(client, agency, key, language="tr")
    [message] = mail.outbox
    assert message.subject.startswith("Lütfen görüntülü randevunuzu onaylayın")
    html = message.alternatives[0][0]
    assert 'lang="tr"' in html


def test_an_expired_booking_link_loses_eriks_details_and_later_its_row(settings, agency):
    invitation, _token = invite(agency)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    delete_expired_holds.call()
    invitation.refresh_from_db()
    assert (invitation.name, invitation.email, invitation.customer_number) == ("", "", "")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(days=settings.BOOKING_INVITATION_KEEP_DAYS + 1)
    )
    delete_expired_holds.call()
    assert not Invitation.objects.exists()


def test_deleting_an_appointments_personal_data_takes_the_booking_records_with_it(
    eriks_booking,
):
    assert SelfBooking.objects.exists() and Invitation.objects.exists()
    eriks_booking.delete()
    assert not SelfBooking.objects.exists()
    assert not Invitation.objects.exists()
    assert not Member.objects.exists()
