"""Exactly one winner (J14): people who book the same slot at the same moment, each over a
connection of their own. Run against PostgreSQL (make test-postgres) the row lock decides; on
SQLite the database's write lock does.

The booking waits a little after it has checked that the slot is free and before it books, so
that the bookings really overlap: without the lock every one of them would find the slot free.
"""

import contextlib
import re
import threading
from datetime import time

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from tests.booking_helpers import invite, publish
from tests.concurrency import at_once as at_once_in_threads
from tests.personas import make_staff

from videotermin.appointments.models import Appointment
from videotermin.booking import services, slots

PEOPLE = 4
SLOT = re.compile(r'name="slot" value="([^"]+)"')

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def slow_booking(monkeypatch):
    """Once armed, everyone who checked whether the slot is free waits for the others (or at
    most two seconds) before booking it."""
    checked = threading.Barrier(PEOPLE, timeout=2)
    armed = threading.Event()
    is_free = slots.is_free

    def free_then_wait(*args, **kwargs):
        answer = is_free(*args, **kwargs)
        if armed.is_set():
            # A broken barrier: the others are held by the lock, which is what is tested.
            with contextlib.suppress(threading.BrokenBarrierError):
                checked.wait()
        return answer

    monkeypatch.setattr(slots, "is_free", free_then_wait)
    return armed


def run_at_once(work, armed: threading.Event) -> list:
    return at_once_in_threads(work, PEOPLE, armed)


def test_of_several_people_booking_the_same_slot_at_once_exactly_one_gets_it(
    agency, location, counselor, slow_booking
):
    publish(agency, location, counselor, starts=time(9), ends=time(10))
    links = [invite(agency, email=f"person{i}@example.org")[0] for i in range(PEOPLE)]
    key = services.invitation_slots(links[0])[0].key

    results = run_at_once(lambda i: services.book_with_invitation(links[i], key), slow_booking)

    winners = [r for r in results if isinstance(r, services.appointments.Booking)]
    losers = [r for r in results if isinstance(r, services.SlotTaken)]
    assert (len(winners), len(losers)) == (1, PEOPLE - 1), results
    assert Appointment.objects.filter(cancelled_at__isnull=True).count() == 1
    assert connection.vendor in ("postgresql", "sqlite")


def test_parallel_requests_for_one_slot_book_it_once_and_tell_the_others_in_their_language(
    agency, location, counselor, slow_booking
):
    publish(agency, location, counselor, starts=time(9), ends=time(10))
    languages = ["de", "en", "tr", "ar"]
    browsers, pages = [], []
    for i in range(PEOPLE):
        _invitation, token = invite(agency, email=f"person{i}@example.org", language=languages[i])
        browser = Client()
        opened = browser.get(reverse("booking:invitation_link", args=[token]))
        browsers.append(browser)
        pages.append(opened["Location"])
    key = SLOT.findall(browsers[0].get(pages[0]).content.decode())[0]

    responses = run_at_once(lambda i: browsers[i].post(pages[i], {"slot": key}), slow_booking)

    assert sorted(r.status_code for r in responses) == [302] + [409] * (PEOPLE - 1), responses
    assert Appointment.objects.count() == 1
    for language, response in zip(languages, responses, strict=True):
        if response.status_code == 409:
            page = response.content.decode()
            assert f'lang="{language}"' in page
            assert 'role="alert"' in page
            # The remaining free slots, without the lost one.
            remaining = SLOT.findall(page)
            assert remaining and key not in remaining


def test_two_people_holding_the_same_slot_on_the_public_page_get_it_once(
    agency, location, counselor, slow_booking
):
    from tests.booking_helpers import turn_on_page

    publish(agency, location, counselor, starts=time(9), ends=time(10))
    page = turn_on_page(agency)
    key = services.page_slots(page)[0].key

    results = run_at_once(
        lambda i: services.hold_slot(
            page, key, name=f"Person {i}", email=f"person{i}@example.org", language="de"
        ),
        slow_booking,
    )

    held = [r for r in results if isinstance(r, services.Hold)]
    assert len(held) == 1, results
    assert all(isinstance(r, services.SlotTaken) for r in results if r not in held)


def test_a_location_with_two_counselors_takes_two_bookings_of_the_same_time(
    agency, location, counselor, slow_booking
):
    make_staff(agency, location, "bob", "Bob Schulz")
    publish(agency, location, starts=time(9), ends=time(9, 30))
    links = [invite(agency, email=f"person{i}@example.org")[0] for i in range(PEOPLE)]
    key = services.invitation_slots(links[0])[0].key

    results = run_at_once(lambda i: services.book_with_invitation(links[i], key), slow_booking)

    winners = [r for r in results if isinstance(r, services.appointments.Booking)]
    assert len(winners) == 2, results
    assert {w.appointment.counselor.username for w in winners} == {"alice", "bob"}
