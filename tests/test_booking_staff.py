"""Publishing video-consultation hours (J14) in the staff workspace: Alice the counselor publishes
her own, Ada the administrator a location's and anybody's of her agency and switches the public
booking page on; Charlie of another agency reaches none of it."""

import re
from datetime import date, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.booking_helpers import publish

from videotermin.audit.models import AuditEntry
from videotermin.booking import publishing
from videotermin.booking.models import BookingPage, Invitation, Schedule, ScheduleException
from videotermin.lib.tokens import hash_token


@pytest.fixture
def alice(client, counselor):
    client.force_login(counselor)
    return client


@pytest.fixture
def charlie(outsider):
    client = Client()
    client.force_login(outsider)
    return client


def actions() -> list[str]:
    entries = AuditEntry.objects.filter(action__startswith="videotermin.booking.")
    return [e.action.removeprefix("videotermin.") for e in entries.order_by("at", "pk")]


def test_the_workspace_leads_to_the_booking_hours(alice):
    day = alice.get(reverse("staff:day"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("booking_staff:index") in day
    page = alice.get(reverse("booking_staff:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Booking hours" in page.content.decode()
    german = alice.get(reverse("booking_staff:index"), HTTP_ACCEPT_LANGUAGE="tr,de;q=0.5")
    assert "Buchungszeiten" in german.content.decode()


def test_alice_publishes_her_own_hours_with_exceptions_and_sees_her_free_slots(
    alice, counselor, location
):
    response = alice.post(
        reverse("booking_staff:create"),
        {
            "location": location.pk,
            "slot_minutes": 30,
            "lead_hours": 0,
            "horizon_days": 14,
            "active": "on",
        },
    )
    schedule = Schedule.objects.get()
    assert response["Location"] == reverse("booking_staff:schedule", args=[schedule.public_id])
    assert (schedule.counselor, schedule.location) == (counselor, location)
    url = reverse("booking_staff:add_hours", args=[schedule.public_id])
    for weekday in range(7):
        alice.post(url, {"hours-weekday": weekday, "hours-starts": "09:00", "hours-ends": "11:00"})
    assert schedule.hours.count() == 7
    holiday = timezone.localdate() + timedelta(days=3)
    alice.post(
        reverse("booking_staff:add_closure", args=[schedule.public_id]),
        {"closed-first_day": holiday.isoformat(), "closed-last_day": ""},
    )
    extra_day = timezone.localdate() + timedelta(days=4)
    alice.post(
        reverse("booking_staff:add_extra", args=[schedule.public_id]),
        {"extra-day": extra_day.isoformat(), "extra-starts": "15:00", "extra-ends": "16:00"},
    )
    assert [(e.kind, e.first_day) for e in schedule.exceptions.all()] == [
        (ScheduleException.Kind.CLOSED, holiday),
        (ScheduleException.Kind.EXTRA, extra_day),
    ]
    page = alice.get(reverse("booking_staff:schedule", args=[schedule.public_id]))
    assert page.status_code == 200
    preview = re.search(r'<ul id="preview">(.*?)</ul>', page.content.decode(), re.S).group(1)
    assert preview.count("<li>") == 12
    assert actions() == [
        "booking.schedule_created",
        *["booking.schedule_changed"] * 9,
    ]


def test_hours_that_end_before_they_start_or_overlap_are_refused(
    alice, counselor, agency, location
):
    schedule = publish(agency, location, counselor, weekdays=[0])
    url = reverse("booking_staff:add_hours", args=[schedule.public_id])
    backwards = alice.post(
        url,
        {"hours-weekday": 1, "hours-starts": "11:00", "hours-ends": "09:00"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "The hours must end after they start." in backwards.content.decode()
    overlapping = alice.post(
        url,
        {"hours-weekday": 0, "hours-starts": "11:30", "hours-ends": "13:00"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "These hours overlap hours already published" in overlapping.content.decode()
    assert schedule.hours.count() == 1


def test_a_counselor_publishes_only_for_herself(alice, counselor, colleague, agency, location):
    alice.post(
        reverse("booking_staff:create"),
        {
            "location": location.pk,
            "counselor": colleague.pk,  # not a field of hers: ignored
            "slot_minutes": 30,
            "lead_hours": 24,
            "horizon_days": 28,
        },
    )
    assert Schedule.objects.get().counselor == counselor
    bobs = publish(agency, location, colleague)
    assert alice.get(reverse("booking_staff:schedule", args=[bobs.public_id])).status_code == 404
    assert alice.post(reverse("booking_staff:remove", args=[bobs.public_id])).status_code == 404
    with pytest.raises(publishing.NotAllowed):
        publishing.add_hours(bobs, by=counselor, weekday=1, starts=time(8), ends=time(9))
    with pytest.raises(publishing.NotAllowed):
        publishing.create_schedule(agency, by=counselor, location=location, counselor=colleague)
    assert Schedule.objects.filter(pk=bobs.pk).exists()


def test_the_administrator_publishes_a_locations_hours_and_a_counselors(
    admin_client, admin_user, counselor, location
):
    data = {"location": location.pk, "slot_minutes": 20, "lead_hours": 2, "horizon_days": 30}
    admin_client.post(reverse("booking_staff:create"), data)
    admin_client.post(reverse("booking_staff:create"), {**data, "counselor": counselor.pk})
    assert sorted((s.counselor_id or 0, s.slot_minutes) for s in Schedule.objects.all()) == [
        (0, 20),
        (counselor.pk, 20),
    ]
    alices = Schedule.objects.get(counselor=counselor)
    page = admin_client.get(reverse("booking_staff:schedule", args=[alices.public_id]))
    assert page.status_code == 200


def test_nobody_reaches_another_agencys_hours(charlie, agency, location, counselor, outsider):
    schedule = publish(agency, location, counselor)
    hours = schedule.hours.first()
    for url, method in [
        (reverse("booking_staff:schedule", args=[schedule.public_id]), "get"),
        (reverse("booking_staff:remove", args=[schedule.public_id]), "post"),
        (reverse("booking_staff:add_hours", args=[schedule.public_id]), "post"),
        (reverse("booking_staff:remove_hours", args=[schedule.public_id, hours.pk]), "post"),
        (reverse("booking_staff:add_closure", args=[schedule.public_id]), "post"),
    ]:
        assert getattr(charlie, method)(url).status_code == 404, url
    listed = charlie.get(reverse("booking_staff:index")).content.decode()
    assert str(schedule.public_id) not in listed
    with pytest.raises(publishing.NotAllowed):
        publishing.change_schedule(schedule, by=outsider, slot_minutes=60)
    with pytest.raises(publishing.NotAllowed):
        publishing.create_schedule(agency, by=outsider, location=location, counselor=outsider)
    assert schedule.hours.count() == 7


def test_the_administrator_switches_the_public_booking_page_on_and_off(
    admin_client, counselor, agency, location
):
    alice = Client()
    alice.force_login(counselor)
    assert alice.post(reverse("booking_staff:switch_page"), {"enabled": "1"}).status_code == 403
    page = admin_client.get(reverse("booking_staff:index")).content.decode()
    assert reverse("booking:page", args=[agency.slug]) in page
    admin_client.post(reverse("booking_staff:switch_page"), {"location": "", "enabled": "1"})
    admin_client.post(
        reverse("booking_staff:switch_page"), {"location": location.public_id, "enabled": "1"}
    )
    assert BookingPage.objects.filter(enabled=True).count() == 2
    assert Client().get(reverse("booking:page", args=[agency.slug])).status_code == 200
    admin_client.post(reverse("booking_staff:switch_page"), {"location": "", "enabled": "0"})
    assert Client().get(reverse("booking:page", args=[agency.slug])).status_code == 404
    assert actions() == ["booking.page_switched"] * 3


def test_another_agencys_administrator_cannot_switch_this_agencys_location_page(
    admin_user, other_agency, location
):
    from tests.personas import make_staff

    from videotermin.agencies.models import StaffMember

    elsewhere = other_agency.locations.create(name="Anderswo")
    zoe = make_staff(other_agency, elsewhere, "zoe", "Zoe Admin")
    StaffMember.objects.filter(user=zoe).update(role=StaffMember.Role.ADMIN)
    client = Client()
    client.force_login(zoe)
    response = client.post(
        reverse("booking_staff:switch_page"), {"location": location.public_id, "enabled": "1"}
    )
    assert response.status_code == 404
    assert not BookingPage.objects.exists()


def test_staff_issue_a_booking_link_that_is_shown_once(alice, agency, counselor, location):
    response = alice.post(
        reverse("booking_staff:invite"),
        {
            "name": "Erik Sommer",
            "email": "erik@example.org",
            "language": "fa",
            "customer_number": "",
            "location": location.pk,
            "counselor": counselor.pk,
            "valid_days": 7,
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = re.search(r"/booking/i/([\w-]+)/", response.content.decode()).group(1)
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_token(token)
    assert (invitation.language, invitation.counselor, invitation.location) == (
        "fa",
        counselor,
        location,
    )
    assert invitation.expires_at.date() == timezone.now().date() + timedelta(days=7)
    assert "booking.invitation_issued" in actions()


def test_removing_hours_keeps_the_appointments_booked_in_them(
    alice, agency, location, counselor, book
):
    schedule = publish(agency, location, counselor)
    booking = book(starts_in=timedelta(days=1))
    alice.post(reverse("booking_staff:remove", args=[schedule.public_id]))
    assert not Schedule.objects.exists()
    booking.appointment.refresh_from_db()
    assert booking.appointment.cancelled_at is None


def test_a_closed_period_cannot_end_before_it_begins(counselor, agency, location):
    schedule = publish(agency, location, counselor)
    with pytest.raises(publishing.NotAllowed):
        publishing.add_closure(
            schedule, by=counselor, first_day=date(2025, 12, 31), last_day=date(2025, 12, 24)
        )
