"""The last place of a licence goes to exactly one: two hosts letting somebody in at the same
moment, or two administrators inviting at once, each over a connection of their own. Against
PostgreSQL the licence's row lock decides; on SQLite the database's write lock does.

Each waits a little after counting what is in use, so that the two really overlap: without the
lock both would find the last place free.
"""

import contextlib
import threading

import pytest
from django.utils import translation
from tests.concurrency import at_once as at_once_in_threads
from tests.personas import agree, make_staff

from videotermin.administration import accounts
from videotermin.agencies.models import StaffMember
from videotermin.appointments.models import Member
from videotermin.calls import services as calls
from videotermin.resources import licences
from videotermin.resources.services import set_licence

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 2


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def slowed(monkeypatch, name: str) -> threading.Event:
    """Once armed, whoever counted the use of the licence waits for the other (at most two
    seconds: a broken barrier means the other is held by the lock, which is what is tested)."""
    counted = threading.Barrier(PEOPLE, timeout=2)
    armed = threading.Event()
    count = getattr(licences, name)

    def count_then_wait(*args, **kwargs):
        answer = count(*args, **kwargs)
        if armed.is_set():
            with contextlib.suppress(threading.BrokenBarrierError):
                counted.wait()
        return answer

    monkeypatch.setattr(licences, name, count_then_wait)
    return armed


def at_once(work, armed: threading.Event) -> list:
    return at_once_in_threads(work, PEOPLE, armed)


def test_of_two_first_admissions_at_once_only_one_starts_a_call_beyond_the_last_place(
    agency, book, counselor, colleague, monkeypatch
):
    waiting = []
    for index, host in enumerate((counselor, colleague)):
        booking = book(by=host, email=f"person{index}@example.org")
        host_member = booking.appointment.members.get(user=host)
        calls.connect(host_member, session=f"h{index}" * 8, channel=f"host-{index}")
        citizen = agree(booking.citizen)
        calls.connect(citizen, session=f"c{index}" * 8, channel=f"citizen-{index}")
        waiting.append((citizen, host_member))
    set_licence(agency, concurrent=1)
    armed = slowed(monkeypatch, "running_calls")

    results = at_once(lambda i: calls.admit(waiting[i][0], by=waiting[i][1]), armed)

    admitted = [r for r in results if isinstance(r, Member)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(admitted) == 1, results
    assert len(refused) == 1
    with translation.override("en"):
        assert "consultation at the same time" in str(refused[0])
    assert licences.running_calls(agency.pk) == 1
    presences = sorted(Member.objects.get(pk=c.pk).presence for c, _host in waiting)
    assert presences == ["in_call", "waiting"]


def test_of_two_invitations_at_once_only_one_takes_the_last_seat(
    agency, location, counselor, monkeypatch
):
    admins = [make_staff(agency, location, f"admin{i}", f"Admin Nummer{i}") for i in range(2)]
    StaffMember.objects.filter(user__in=admins).update(role=StaffMember.Role.ADMIN)
    for admin in admins:
        admin.staff.refresh_from_db()
    set_licence(agency, seats=4)  # Alice and the two administrators: one seat is free
    armed = slowed(monkeypatch, "seats_in_use")

    def invite(index: int):
        return accounts.invite(
            agency,
            by=admins[index],
            first_name="Neu",
            last_name=str(index),
            email=f"neu{index}@musterstadt.example",
            role=StaffMember.Role.COUNSELOR,
            location=None,
        )

    results = at_once(invite, armed)

    assert sum(isinstance(r, StaffMember) for r in results) == 1, results
    assert licences.seats_in_use(agency.pk) == 4


def test_of_two_people_signing_in_at_once_for_the_first_time_only_one_takes_the_last_seat(
    agency, counselor, monkeypatch
):
    from allauth.core import context
    from allauth.core.exceptions import ImmediateHttpResponse
    from django.contrib.auth import get_user_model
    from tests.test_signin_providers import arriving, provider_for

    from videotermin.signin.adapter import SocialAccountAdapter

    provider = provider_for(agency, create_accounts=True)
    seats = licences.seats_in_use(agency.pk) + 1
    set_licence(agency, seats=seats)  # one seat is free
    armed = slowed(monkeypatch, "seats_in_use")

    def sign_in(index: int):
        """Their agency's provider vouches for somebody without an account yet: one is made."""
        email = f"neu{index}@musterstadt.example"
        request, login = arriving(provider, sub=f"n-{index}", email=email)
        with context.request_context(request):
            return SocialAccountAdapter(request).save_user(request, login)

    results = at_once(sign_in, armed)

    made = [r for r in results if isinstance(r, get_user_model())]
    refused = [r for r in results if isinstance(r, ImmediateHttpResponse)]
    assert len(made) == 1 and len(refused) == 1, results
    assert refused[0].response.status_code == 403
    assert licences.seats_in_use(agency.pk) == seats
