"""Personas shared by every test: an agency with its counselor and a colleague, another agency
with its own counselor, a citizen's appointment and an interpreter."""

from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from django.utils import timezone
from tests.personas import agree, interpreter_invitee, make_staff

from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.appointments import services as appointments
from videotermin.consent import services as consent


def pytest_sessionstart(session):
    """A run that was stopped midway leaves SQLite's -wal and -shm files behind; replayed into
    the test database created anew, they corrupt it ("no such table")."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        name = Path(database["TEST"]["NAME"])
        for suffix in ("-wal", "-shm"):
            name.with_name(name.name + suffix).unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last: Playwright keeps an event loop running in the main thread.

    The Firefox tests come at the very end, so that their Firefox runs only while they do.
    """
    items.sort(
        key=lambda item: (
            item.get_closest_marker("browser") is not None,
            any("firefox" in name for name in getattr(item, "fixturenames", ())),
        )
    )


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the site's language: a request of an earlier test (a client asking
    in English) leaves its language active in the thread."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Measurement allowances and rate limits: every test starts with none spent."""
    from django.core.cache import cache

    from videotermin.lib import ratelimit
    from videotermin.resources import placement

    cache.clear()
    ratelimit.forget()
    # The media server registry as a process keeps it: each test registers its own.
    placement.forget()
    placement.assignments.clear()


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
def book(counselor, location):
    """Alice books an appointment: for Dana in two minutes unless told otherwise."""

    def make(
        *,
        starts_in: timedelta = timedelta(minutes=2),
        starts_at=None,
        name: str = "Dana Yilmaz",
        email: str = "dana@example.org",
        language: str = "de",
        customer_number: str = "",
        extras=(),
        by=None,
        **options,
    ) -> appointments.Booking:
        return appointments.create_appointment(
            by=by or counselor,
            location=location,
            starts_at=starts_at or timezone.now() + starts_in,
            citizen=appointments.Invitee(
                name=name, email=email, language=language, customer_number=customer_number
            ),
            extras=extras,
            **options,
        )

    return make


@pytest.fixture
def booking(book):
    """Dana's appointment, starting in two minutes (the waiting room is open)."""
    return book()


@pytest.fixture
def appointment(booking):
    return booking.appointment


@pytest.fixture
def citizen(booking):
    return booking.citizen


@pytest.fixture
def consenting_citizen(citizen, agency):
    """Dana, after agreeing to the consent text."""
    return agree(citizen)


@pytest.fixture
def interpreter_booking(book):
    """Dana's appointment with Olga as her interpreter, both invited, starting in two minutes."""
    return book(extras=[interpreter_invitee()])


@pytest.fixture
def host(appointment, counselor):
    """Alice as the host member of Dana's appointment."""
    return appointment.members.get(user=counselor)


@pytest.fixture(scope="session")
def janus():
    """A real Janus with the shipped configuration, started once when a test first needs it."""
    from tests.janusserver import JanusServer

    with JanusServer(api_secret="test-" + uuid4().hex) as server:
        yield server


@pytest.fixture
def janus_echo(settings, janus):
    """The test call goes through the real Janus's echotest plugin."""
    settings.ECHO_BACKEND = "janus"
    settings.JANUS_URL = janus.url
    settings.JANUS_API_SECRET = janus.api_secret
    return janus


@pytest.fixture(params=["aiortc", "janus"])
def echo_backend(request, settings):
    """Each test call scenario runs against both echo backends: aiortc here, Janus's echotest."""
    if request.param == "janus":
        request.getfixturevalue("janus_echo")
    else:
        settings.ECHO_BACKEND = "aiortc"
    return request.param


@pytest.fixture
def admin_user(agency, location):
    """Ada Richter, the agency's administrator."""
    user = make_staff(agency, location, "ada", "Ada Richter")
    StaffMember.objects.filter(user=user).update(role=StaffMember.Role.ADMIN)
    user.refresh_from_db()
    return user


@pytest.fixture
def admin_client(client, admin_user):
    """A browser session of the agency's administrator."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def api_key(agency):
    """The key of the agency's appointment system; it may read and write."""
    from videotermin.api import services as api_services

    return api_services.create_key(agency, by=None, name="Terminsystem", scope="write")


@pytest.fixture
def api(client, api_key):
    """The agency's appointment system calling the API with its key."""
    from tests.apiclient import ApiCaller

    return ApiCaller(client, api_key.value)


@pytest.fixture
def read_only_api(client, agency):
    """The agency's statistics system, whose key may only read."""
    from tests.apiclient import ApiCaller

    from videotermin.api import services as api_services

    issued = api_services.create_key(agency, by=None, name="Statistik", scope="read")
    return ApiCaller(client, issued.value)


@pytest.fixture
def other_api(client, other_agency):
    """The appointment system of another agency, with a key of that agency."""
    from tests.apiclient import ApiCaller

    from videotermin.api import services as api_services

    issued = api_services.create_key(other_agency, by=None, name="Fremdsystem", scope="write")
    return ApiCaller(client, issued.value)
