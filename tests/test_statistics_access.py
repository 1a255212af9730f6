"""Who sees the statistics: an agency's administrators and analysts, each only their own
agency's. An analyst sees nothing else: no day view, no appointment, no room."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.personas import PASSWORD
from tests.statistics_helpers import MARCH, held, make_analyst

from videotermin.administration import accounts
from videotermin.administration.rules import NotAllowed as AdminNotAllowed
from videotermin.agencies.models import Location, StaffMember
from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment
from videotermin.audit.models import AuditEntry
from videotermin.calls.services import find_member

START, END = MARCH
PAGES = ("stats:index", "stats:csv", "stats:json")


@pytest.fixture
def analyst(agency, location):
    """Greta, the agency's analyst."""
    return make_analyst(agency, location)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def period(**more) -> dict:
    return {"start": START.isoformat(), "end": END.isoformat(), **more}


@pytest.mark.parametrize("page", PAGES)
def test_the_analyst_and_the_administrator_see_the_statistics(page, analyst, admin_user):
    for user in (analyst, admin_user):
        assert signed_in(user).get(reverse(page), period()).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_a_counselor_may_not_see_the_statistics(page, counselor):
    assert signed_in(counselor).get(reverse(page), period()).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_a_stranger_is_sent_to_sign_in(page, client):
    response = client.get(reverse(page), period())

    assert response.status_code == 302
    assert response.url.startswith(reverse("staff:login"))


@pytest.mark.parametrize("page", PAGES)
def test_another_agencys_location_does_not_exist_for_the_analyst(page, analyst, other_agency):
    elsewhere = Location.objects.create(agency=other_agency, name="Anderswo")
    held(other_agency, elsewhere, 20)
    greta = signed_in(analyst)

    assert greta.get(reverse(page), period(location=elsewhere.public_id)).status_code == 404
    assert greta.get(reverse(page), period(location="not-a-location")).status_code == 404


def test_an_analyst_sees_only_her_own_agencys_statistics(analyst, other_agency):
    elsewhere = Location.objects.create(agency=other_agency, name="Anderswo")
    held(other_agency, elsewhere, 20)

    page = signed_in(analyst).get(reverse("stats:index"), period()).content.decode()

    assert "Anderswo" not in page
    assert "Jobcenter Anderswo" not in page


def test_every_look_and_every_download_is_in_the_audit_log_with_its_filters(
    analyst, admin_user, location
):
    greta = signed_in(analyst)
    greta.get(reverse("stats:csv"), period(location=location.public_id))
    greta.get(reverse("stats:json"), period())
    greta.get(reverse("stats:index"), period())

    entries = AuditEntry.objects.filter(action__startswith="videotermin.stats.").order_by("id")
    march = {"start": "2026-03-01", "end": "2026-03-31"}
    assert [(e.action, e.actor_ref, e.data) for e in entries] == [
        (
            "videotermin.stats.exported",
            f"staff:{analyst.pk}",
            march | {"location": str(location.public_id), "format": "csv"},
        ),
        (
            "videotermin.stats.exported",
            f"staff:{analyst.pk}",
            march | {"location": "", "format": "json"},
        ),
        (
            "videotermin.stats.viewed",
            f"staff:{analyst.pk}",
            march | {"location": "", "format": "page"},
        ),
    ]
    log = signed_in(admin_user).get(reverse("administration:audit")).content.decode()
    assert "Statistik exportiert" in log and "Statistik angesehen" in log


def test_an_analyst_cannot_open_day_views_appointments_rooms_or_the_administration(
    analyst, appointment
):
    greta = signed_in(analyst)
    citizen = appointment.citizen()
    forbidden = [
        reverse("staff:day"),
        reverse("staff:create"),
        reverse("staff:check"),
        reverse("staff:edit", args=[appointment.public_id]),
        reverse("staff:cancel", args=[appointment.public_id]),
        reverse("staff:room", args=[appointment.public_id]),
        reverse("staff:people", args=[appointment.public_id]),
        reverse("staff:edit_member", args=[appointment.public_id, citizen.public_id]),
        reverse("booking_staff:index"),
        reverse("administration:index"),
        reverse("administration:audit"),
    ]

    assert {url: greta.get(url).status_code for url in forbidden} == dict.fromkeys(forbidden, 403)
    assert greta.post(reverse("staff:cancel", args=[appointment.public_id])).status_code == 403
    assert Appointment.objects.get(pk=appointment.pk).cancelled_at is None


def test_no_appointment_is_visible_to_an_analyst_nor_changed_by_her(analyst, appointment):
    assert not Appointment.objects.visible_to(analyst).exists()
    with pytest.raises(appointments.NotAllowed):
        appointments.cancel_appointment(appointment, by=analyst)
    with pytest.raises(appointments.NotAllowed):
        appointments.join_as_staff(appointment, analyst)


def test_the_room_refuses_an_analysts_connection(analyst, appointment):
    with pytest.raises(appointments.NotAllowed):
        find_member(str(appointment.public_id), analyst, None)
    assert not appointment.members.filter(user=analyst).exists()


def test_an_analyst_cannot_book_nor_host_a_consultation(analyst, counselor, location):
    citizen = appointments.Invitee(name="Dana Yilmaz", email="dana@example.org", language="de")
    starts_at = timezone.now() + timedelta(days=1)

    with pytest.raises(appointments.NotAllowed):
        appointments.create_appointment(
            by=analyst, location=location, starts_at=starts_at, citizen=citizen
        )
    with pytest.raises(appointments.NotAllowed):
        appointments.create_appointment(
            by=counselor, counselor=analyst, location=location, starts_at=starts_at, citizen=citizen
        )


@pytest.mark.django_db(transaction=True)
def test_the_live_day_view_socket_refuses_an_analyst(analyst):
    client = signed_in(analyst)
    headers = [
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        (b"origin", settings.SITE_URL.encode()),
        (b"host", b"localhost"),
    ]

    async def connect():
        from videotermin.asgi import application

        socket = WebsocketCommunicator(application, "/ws/staff/", headers=headers)
        connected, code = await socket.connect()
        await socket.disconnect()
        return connected, code

    assert async_to_sync(connect)() == (False, 4403)


def test_the_analyst_signs_in_to_the_statistics(client, analyst):
    response = client.post(reverse("staff:login"), {"username": "greta", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("stats:index")


def test_the_navigation_leads_each_role_to_what_it_may_see(analyst, admin_user, counselor):
    greta = signed_in(analyst).get(reverse("stats:index")).content.decode()
    ada = signed_in(admin_user).get(reverse("stats:index")).content.decode()
    alice = signed_in(counselor).get(reverse("staff:day")).content.decode()
    statistics = f'<a href="{reverse("stats:index")}">Statistik</a>'

    assert statistics in greta and statistics in ada and statistics not in alice
    assert "Tagesansicht" not in greta and "Neuer Termin" not in greta
    assert "Verwaltung der Dienststelle" not in greta
    assert "Tagesansicht" in ada and "Verwaltung der Dienststelle" in ada


def test_the_administrator_invites_an_analyst(
    admin_client, agency, django_capture_on_commit_callbacks
):
    form = admin_client.get(reverse("administration:staff_invite")).content.decode()
    assert '<option value="analyst">Analystin/Analyst</option>' in form
    assert "Analystinnen und Analysten sehen nur die anonyme Statistik" in form

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("administration:staff_invite"),
            {
                "first_name": "Greta",
                "last_name": "Zahl",
                "email": "greta.zahl@musterstadt.example",
                "role": "analyst",
                "location": "",
                "language": "de",
            },
        )

    assert response.status_code == 302
    greta = StaffMember.objects.get(user__username="greta.zahl@musterstadt.example")
    assert greta.role == "analyst" and greta.is_analyst and not greta.sees_appointments
    listing = admin_client.get(reverse("administration:staff")).content.decode()
    assert "Analystin/Analyst" in listing


def test_a_counselor_with_appointments_to_come_becomes_an_analyst_only_after_handing_them_over(
    admin_client, admin_user, counselor, book
):
    booking = book(starts_in=timedelta(days=2))
    alice = counselor.staff
    url = reverse("administration:staff_member", args=[alice.public_id])

    page = admin_client.post(url, {"role": "analyst", "location": ""}).content.decode()
    assert "Übergeben Sie die noch anstehenden Termine" in page
    alice.refresh_from_db()
    assert alice.role == "counselor"

    appointments.cancel_appointment(booking.appointment, by=counselor)
    accounts.change(alice, by=admin_user, role="analyst", location=None)
    alice.refresh_from_db()
    assert alice.role == "analyst"
    with pytest.raises(AdminNotAllowed):
        accounts.change(
            admin_user.staff, by=admin_user, role="analyst", location=admin_user.staff.location
        )
