"""Personas shared by every test: an agency with its counselor and a colleague, another agency
with its own counselor, and a citizen's appointment."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.appointments import services as appointments
from videotermin.consent import services as consent

PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last: Playwright keeps an event loop running in the main thread."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def make_staff(agency: Agency, location: Location, username: str, full_name: str):
    first, _, last = full_name.partition(" ")
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, first_name=first, last_name=last
    )
    StaffMember.objects.create(user=user, agency=agency, location=location)
    return user


@pytest.fixture
def agency(db):
    # Transactional tests flush the tables, and with them the texts the migration published.
    consent.load_default_texts()
    return Agency.objects.create(
        name="Agentur für Arbeit Musterstadt",
        slug="musterstadt",
        support_phone="0800 4 555501",
        support_email="support@musterstadt.example",
        alternatives="Telefon 0800 4 555500 oder persönlich in der Hauptstraße 1.",
    )


@pytest.fixture
def location(agency):
    return Location.objects.create(agency=agency, name="Musterstadt Mitte", address="Hauptstraße 1")


@pytest.fixture
def counselor(agency, location):
    """Alice, a counselor of the agency."""
    return make_staff(agency, location, "alice", "Alice Berger")


@pytest.fixture
def colleague(agency, location):
    """Bob, a colleague at the same agency."""
    return make_staff(agency, location, "bob", "Bob Schulz")


@pytest.fixture
def other_agency(db):
    return Agency.objects.create(name="Jobcenter Anderswo", slug="anderswo")


@pytest.fixture
def outsider(other_agency):
    """Charlie, a counselor of another agency."""
    location = Location.objects.create(agency=other_agency, name="Anderswo")
    return make_staff(other_agency, location, "charlie", "Charlie Weber")


@pytest.fixture
def booking(counselor, location, settings):
    """An appointment for the citizen Dana, starting in two minutes (waiting room open)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return appointments.create_appointment(
        counselor=counselor,
        location=location,
        starts_at=timezone.now() + timedelta(minutes=2),
        citizen_name="Dana Yilmaz",
        citizen_email="dana@example.org",
        language="de",
    )


@pytest.fixture
def appointment(booking):
    return booking.appointment


@pytest.fixture
def citizen(booking):
    return booking.citizen


@pytest.fixture
def consenting_citizen(citizen, agency):
    """Dana, after agreeing to the consent text."""
    consent.decide(citizen, consent.current_text(agency, "de"), accepted=True)
    citizen.refresh_from_db()
    return citizen
