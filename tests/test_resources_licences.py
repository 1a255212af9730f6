"""Licences per agency (A6): counselor seats, consultations at the same time and people in one
consultation, set by the operator, enforced with a message in the language of whoever hits the
limit, and shown to the agency's administrator beside what is in use."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation
from tests.personas import agree, interpreter_invitee, make_staff

from videotermin.administration import accounts
from videotermin.administration.rules import NotAllowed as AdminNotAllowed
from videotermin.agencies.models import Location, StaffMember
from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment, Member
from videotermin.appointments.services import NotAllowed
from videotermin.audit.models import AuditEntry
from videotermin.calls import services as calls
from videotermin.resources import licences
from videotermin.resources.models import Licence
from videotermin.resources.services import set_licence
from videotermin.webhooks.events import EVENT_TYPES
from videotermin.webhooks.models import Endpoint, Event

Presence = Member.Presence


def in_both_languages(error: Exception) -> tuple[str, str]:
    """The refusal as a German and as an English reader reads it."""
    with translation.override("de"):
        german = str(error)
    with translation.override("en"):
        english = str(error)
    return german, english


def licence(agency, **limits) -> Licence:
    return set_licence(agency, by=None, **limits)


@pytest.fixture
def hook(agency):
    """The agency's system listens to every webhook event: a change would leave one."""
    return Endpoint.objects.create(
        agency=agency,
        url="https://termine.musterstadt.example/hook",
        event_types=list(EVENT_TYPES),
        secret_sealed="unused",
    )


# Counselor seats ----------------------------------------------------------------------------


def test_inviting_a_counselor_beyond_the_seats_is_refused_in_german_and_english(
    agency, counselor, admin_user, location
):
    licence(agency, seats=2)  # Alice and Ada hold both
    users_before = get_user_model().objects.count()

    with pytest.raises(AdminNotAllowed) as refused:
        accounts.invite(
            agency,
            by=admin_user,
            first_name="Nora",
            last_name="Neumann",
            email="nora@musterstadt.example",
            role=StaffMember.Role.COUNSELOR,
            location=location,
        )

    german, english = in_both_languages(refused.value)
    assert german == (
        "Die Lizenz Ihrer Dienststelle umfasst 2 Plätze für Ansprechpersonen, und alle sind "
        "belegt. Deaktivieren Sie ein Konto, das nicht mehr gebraucht wird, oder bitten Sie den "
        "Betreiber um weitere Plätze."
    )
    assert english == (
        "Your agency's licence covers 2 counselor seats, and all of them are taken. Deactivate "
        "an account that is no longer needed, or ask the operator for more seats."
    )
    assert get_user_model().objects.count() == users_before
    assert not AuditEntry.objects.filter(action="videotermin.staff.invited").exists()


def test_the_administrator_reads_the_seat_refusal_on_the_invitation_page_in_her_language(
    admin_client, agency, counselor, location
):
    licence(agency, seats=2)
    data = {
        "first_name": "Nora",
        "last_name": "Neumann",
        "email": "nora@musterstadt.example",
        "role": "counselor",
        "location": "",
        "language": "de",
    }
    url = reverse("administration:staff_invite")

    german = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="de").text
    english = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en").text

    assert "umfasst 2 Plätze für Ansprechpersonen, und alle sind belegt" in german
    assert "covers 2 counselor seats, and all of them are taken" in english
    assert not get_user_model().objects.filter(email="nora@musterstadt.example").exists()


def test_an_analyst_takes_no_seat_and_is_invited_when_the_seats_are_full(
    agency, counselor, admin_user
):
    licence(agency, seats=2)
    staff = accounts.invite(
        agency,
        by=admin_user,
        first_name="Greta",
        last_name="Graf",
        email="greta@musterstadt.example",
        role=StaffMember.Role.ANALYST,
        location=None,
    )
    assert staff.is_analyst
    assert licences.seats_in_use(agency.pk) == 2


def test_an_analyst_becomes_a_counselor_only_with_a_free_seat(agency, counselor, admin_user):
    greta = make_staff(agency, None, "greta", "Greta Graf").staff
    StaffMember.objects.filter(pk=greta.pk).update(role=StaffMember.Role.ANALYST)
    greta.refresh_from_db()
    licence(agency, seats=2)

    with pytest.raises(AdminNotAllowed) as refused:
        accounts.change(greta, by=admin_user, role=StaffMember.Role.COUNSELOR, location=None)

    assert "2 counselor seats" in in_both_languages(refused.value)[1]
    greta.refresh_from_db()
    assert greta.is_analyst
    licence(agency, seats=3)
    accounts.change(greta, by=admin_user, role=StaffMember.Role.COUNSELOR, location=None)
    greta.refresh_from_db()
    assert greta.role == StaffMember.Role.COUNSELOR


def test_reactivating_a_counselor_beyond_the_seats_is_refused_and_leaves_the_account_closed(
    agency, counselor, colleague, admin_user
):
    accounts.deactivate(colleague.staff, by=admin_user)
    licence(agency, seats=2)

    with pytest.raises(AdminNotAllowed) as refused:
        accounts.reactivate(colleague.staff, by=admin_user)

    german, english = in_both_languages(refused.value)
    assert "umfasst 2 Plätze" in german and "covers 2 counselor seats" in english
    colleague.refresh_from_db()
    assert not colleague.is_active
    assert not AuditEntry.objects.filter(action="videotermin.staff.reactivated").exists()
    # A seat freed elsewhere lets Bob back in.
    accounts.deactivate(counselor.staff, by=admin_user)
    accounts.reactivate(colleague.staff, by=admin_user)
    colleague.refresh_from_db()
    assert colleague.is_active


def test_single_sign_on_creates_no_account_beyond_the_seats(agency, counselor):
    from tests.test_signin_providers import provider_for, refusal

    provider = provider_for(agency)
    provider.create_accounts = True
    provider.save()
    licence(agency, seats=1)

    page = refusal(provider, sub="n-1", email="neu@example.org")

    assert "covers 1 counselor seat, and it is taken, so no new account" in page
    assert not get_user_model().objects.filter(email="neu@example.org").exists()


# People in one consultation -----------------------------------------------------------------


def test_booking_more_people_than_the_licence_allows_is_refused_and_books_nothing(agency, book):
    licence(agency, group=2)

    with pytest.raises(NotAllowed) as refused:
        book(extras=[interpreter_invitee()])

    german, english = in_both_languages(refused.value)
    assert german == (
        "Die Lizenz Ihrer Dienststelle erlaubt höchstens 2 Personen in einem Gespräch, die "
        "Ansprechperson eingeschlossen."
    )
    assert english == (
        "Your agency's licence allows at most 2 people in one consultation, the counselor included."
    )
    assert not Appointment.objects.exists()
    assert not Member.objects.exists()
    assert not AuditEntry.objects.filter(action="videotermin.appointment.created").exists()


def test_adding_a_person_beyond_the_group_capacity_is_refused_and_adds_nobody(
    agency, booking, counselor, hook
):
    licence(agency, group=2)
    appointment = booking.appointment
    events_before = Event.objects.count()

    with pytest.raises(NotAllowed) as refused:
        appointments.add_member(appointment, interpreter_invitee(), by=counselor)

    german, english = in_both_languages(refused.value)
    assert "höchstens 2 Personen in einem Gespräch" in german
    assert "at most 2 people in one consultation" in english
    assert appointment.members.count() == 2
    assert Event.objects.count() == events_before
    assert not AuditEntry.objects.filter(action="videotermin.member.invited").exists()


def test_a_colleague_joining_counts_as_one_more_person(agency, booking, colleague):
    licence(agency, group=2)
    with pytest.raises(NotAllowed):
        appointments.join_as_staff(booking.appointment, colleague)
    assert booking.appointment.members.count() == 2


def test_within_the_group_capacity_people_are_added(agency, booking, counselor):
    licence(agency, group=3)
    member, _token = appointments.add_member(
        booking.appointment, interpreter_invitee(), by=counselor
    )
    assert member.role == "interpreter"


# Consultations at the same time -------------------------------------------------------------


def connected(member, session: str):
    return calls.connect(member, session=session, channel=f"channel-{session}")


@pytest.fixture
def running_call(booking, counselor):
    """Alice's consultation with Dana, running."""
    host = connected(booking.appointment.members.get(user=counselor), "h" * 16)
    dana = connected(agree(booking.citizen), "d" * 16)
    calls.admit(dana, by=host)
    return booking.appointment


@pytest.fixture
def emil_waiting(book, colleague):
    """Bob's consultation with Emil: Bob in the room, Emil in the waiting room."""
    booking = book(by=colleague, name="Emil Novak", email="emil@example.org", language="en")
    bob = connected(booking.appointment.members.get(user=colleague), "b" * 16)
    emil = connected(agree(booking.citizen), "e" * 16)
    return bob, emil


def test_admitting_into_one_more_consultation_than_licensed_is_refused_and_emil_keeps_waiting(
    agency, running_call, emil_waiting, hook
):
    licence(agency, concurrent=1)
    bob, emil = emil_waiting
    events_before = Event.objects.count()
    admissions_before = AuditEntry.objects.filter(action="videotermin.member.admitted").count()

    with pytest.raises(NotAllowed) as refused:
        calls.admit(emil, by=bob)

    german, english = in_both_languages(refused.value)
    assert german == (
        "Die Lizenz Ihrer Dienststelle erlaubt 1 Gespräch zur gleichen Zeit, und es läuft "
        "gerade. Lassen Sie die Person ein, sobald es beendet ist; die Person behält ihren "
        "Platz im Warteraum."
    )
    assert english == (
        "Your agency's licence allows 1 consultation at the same time, and it is running now. "
        "Let the person in once it has ended: they keep their place in the waiting room."
    )
    emil.refresh_from_db()
    assert (emil.presence, emil.admitted_at) == (Presence.WAITING, None)
    assert emil.waiting_since is not None
    assert Appointment.objects.get(pk=emil.appointment_id).call_started_at is None
    assert (
        AuditEntry.objects.filter(action="videotermin.member.admitted").count() == admissions_before
    )
    assert Event.objects.count() == events_before


def test_once_the_other_consultation_ended_emil_is_let_in(
    agency, running_call, emil_waiting, counselor
):
    licence(agency, concurrent=1)
    bob, emil = emil_waiting
    host = running_call.members.get(user=counselor)
    calls.end_call(running_call, by=host)

    calls.admit(emil, by=bob)

    emil.refresh_from_db()
    assert emil.presence == Presence.IN_CALL


def test_a_consultation_everybody_has_left_holds_no_place(
    agency, running_call, emil_waiting, counselor
):
    licence(agency, concurrent=1)
    for member in running_call.members.all():
        calls.disconnect(member, channel=member.channel)
    assert licences.running_calls(agency.pk) == 0

    bob, emil = emil_waiting
    calls.admit(emil, by=bob)
    assert Member.objects.get(pk=emil.pk).presence == Presence.IN_CALL


def test_a_second_person_joins_a_running_consultation_whatever_the_licence(
    agency, interpreter_booking, counselor
):
    host = connected(interpreter_booking.appointment.members.get(user=counselor), "h" * 16)
    dana = connected(agree(interpreter_booking.citizen), "d" * 16)
    calls.admit(dana, by=host)
    licence(agency, concurrent=1)
    olga = connected(agree(interpreter_booking.extras[0][0]), "o" * 16)

    calls.admit(olga, by=host)

    assert Member.objects.get(pk=olga.pk).presence == Presence.IN_CALL


def test_another_agencys_consultations_take_no_place_of_ours(
    agency, other_agency, outsider, running_call, emil_waiting
):
    licence(other_agency, concurrent=1)
    licence(agency, concurrent=2)
    bob, emil = emil_waiting
    calls.admit(emil, by=bob)
    assert licences.running_calls(agency.pk) == 2
    assert licences.running_calls(other_agency.pk) == 0


# No licence, no limit -----------------------------------------------------------------------


def test_without_a_licence_nothing_is_limited(
    agency, book, counselor, colleague, admin_user, running_call, emil_waiting
):
    assert not Licence.objects.exists()
    for number in range(3):
        accounts.invite(
            agency,
            by=admin_user,
            first_name="Neu",
            last_name=str(number),
            email=f"neu{number}@musterstadt.example",
            role=StaffMember.Role.COUNSELOR,
            location=None,
        )
    extras = [interpreter_invitee(email=f"p{n}@example.org") for n in range(4)]
    assert book(extras=extras).appointment.members.count() == 6
    bob, emil = emil_waiting
    calls.admit(emil, by=bob)
    assert licences.running_calls(agency.pk) == 2


def test_a_limit_left_empty_limits_nothing(agency, book, running_call, emil_waiting):
    licence(agency, seats=1)  # only seats: groups and running calls stay free
    extras = [interpreter_invitee(email=f"p{n}@example.org") for n in range(4)]
    assert book(extras=extras).appointment.members.count() == 6
    bob, emil = emil_waiting
    calls.admit(emil, by=bob)


# The operator sets it ------------------------------------------------------------------------


def run(*args) -> str:
    out = io.StringIO()
    call_command("licence", *args, stdout=out)
    return out.getvalue()


def test_the_operator_sets_the_licence_and_each_change_is_audited(agency, counselor):
    output = run("musterstadt", "--seats", "10", "--concurrent", "4", "--group", "3")

    assert "Licence of musterstadt set." in output
    assert "counselor seats:" in output and "(in use: 1)" in output
    stored = Licence.objects.get(agency=agency)
    assert (stored.seats, stored.concurrent, stored.group) == (10, 4, 3)
    run("musterstadt", "--concurrent", "none")
    stored.refresh_from_db()
    assert (stored.seats, stored.concurrent, stored.group) == (10, None, 3)
    entries = AuditEntry.objects.filter(action="videotermin.licence.changed").order_by("pk")
    assert [e.data for e in entries] == [
        {"seats": 10, "concurrent": 4, "group": 3},
        {"seats": 10, "concurrent": "", "group": 3},
    ]
    assert all(e.actor is None and e.agency == agency for e in entries)


def test_lifting_every_limit_removes_the_licence(agency):
    run("musterstadt", "--seats", "3")
    output = run("musterstadt", "--seats", "none")
    assert not Licence.objects.exists()
    assert "musterstadt has no licence: nothing is limited." in output


@pytest.mark.parametrize(
    "args",
    [
        ("--group", "7"),
        ("--group", "1"),
        ("--seats", "-1"),
        ("--seats", "many"),
    ],
)
def test_the_command_refuses_a_limit_that_cannot_be(agency, args):
    with pytest.raises((CommandError, SystemExit)):
        call_command("licence", "musterstadt", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not Licence.objects.exists()
    assert not AuditEntry.objects.filter(action="videotermin.licence.changed").exists()


def test_the_command_refuses_an_unknown_agency(db):
    with pytest.raises(CommandError, match="no agency"):
        run("nirgendwo", "--seats", "3")


def test_the_licence_change_reads_as_a_sentence_in_the_audit_log(admin_client, agency):
    run("musterstadt", "--seats", "5", "--group", "4")
    page = admin_client.get(reverse("administration:audit"), HTTP_ACCEPT_LANGUAGE="de").text
    assert "Lizenz geändert" in page
    assert "Plätze für Ansprechpersonen" in page and "Personen in einem Gespräch" in page


# The administrator's page --------------------------------------------------------------------


def row_values(page: str, limit: str) -> tuple[str, str]:
    """The licensed value and the use of one row of the licence table."""
    import re

    row = re.search(rf'<tr data-limit="{limit}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    licensed, used = re.findall(r'data-value="([^"]*)"', row)
    return licensed, used


def test_the_administrator_sees_each_limit_beside_its_use(
    admin_client, agency, counselor, running_call, book
):
    licence(agency, seats=5, concurrent=1, group=4)
    book(extras=[interpreter_invitee()], starts_in=timedelta(days=1))

    response = admin_client.get(reverse("resources:licence"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    page = response.text
    assert row_values(page, "seats") == ("5", "2")  # Alice and Ada
    assert row_values(page, "concurrent") == ("1", "1")
    assert row_values(page, "group") == ("4", "3")
    assert "all taken" in page
    assert 'href="/staff/agency/licence/" aria-current="page"' in page


def test_the_page_says_when_use_is_above_the_licence(admin_client, agency, counselor, colleague):
    licence(agency, seats=1)
    page = admin_client.get(reverse("resources:licence"), HTTP_ACCEPT_LANGUAGE="de").text
    assert row_values(page, "seats") == ("1", "3")
    assert "über der Lizenz" in page


def test_without_a_licence_the_page_says_nothing_is_limited(admin_client, agency, counselor):
    page = admin_client.get(reverse("resources:licence"), HTTP_ACCEPT_LANGUAGE="en").text
    assert 'id="no-licence"' in page
    assert row_values(page, "seats") == ("", "2")
    assert "no limit (the product allows 6 people)" in page


def test_a_counselor_is_refused_the_licence_page(client, counselor, agency):
    licence(agency, seats=5)
    client.force_login(counselor)
    assert client.get(reverse("resources:licence")).status_code == 403
    assert 'href="/staff/agency/licence/"' not in client.get(reverse("staff:day")).text


def test_an_administrator_of_another_agency_sees_only_her_own_licence_and_use(
    client, agency, counselor, other_agency, running_call
):
    licence(agency, seats=7, concurrent=3)
    cora = make_staff(
        other_agency, Location.objects.create(agency=other_agency, name="X"), "cora", "Cora Ost"
    )
    StaffMember.objects.filter(user=cora).update(role=StaffMember.Role.ADMIN)
    client.force_login(cora)

    page = client.get(reverse("resources:licence"), HTTP_ACCEPT_LANGUAGE="en").text

    assert 'id="no-licence"' in page
    assert row_values(page, "seats") == ("", "1")
    assert row_values(page, "concurrent") == ("", "0")
    assert 'data-value="7"' not in page


def test_a_signed_out_visitor_is_sent_to_the_sign_in(client, agency):
    response = client.get(reverse("resources:licence"))
    assert response.status_code == 302
    assert reverse("staff:login") in response["Location"]


def test_the_largest_group_counts_only_consultations_not_yet_over(agency, book):
    old = book(extras=[interpreter_invitee()])
    Appointment.objects.filter(pk=old.appointment.pk).update(
        starts_at=timezone.now() - timedelta(hours=2)
    )
    assert licences.largest_group(agency.pk) == 0
    book()
    assert licences.largest_group(agency.pk) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        (b"de-DE,de;q=0.9", "Die Lizenz Ihrer Dienststelle erlaubt 1 Gespräch zur gleichen Zeit"),
        (b"en-GB,en;q=0.9", "Your agency's licence allows 1 consultation at the same time"),
    ],
)
def test_in_the_room_the_host_is_told_why_and_dana_keeps_waiting(
    agency, booking, counselor, colleague, book, accept_language, expected
):
    from asgiref.sync import async_to_sync
    from tests.test_room_consumer import about, enter, next_of, nothing_of, send, socket

    other = book(by=colleague, name="Emil Novak", email="emil@example.org")
    bob = connected(other.appointment.members.get(user=colleague), "b" * 16)
    calls.admit(connected(agree(other.citizen), "e" * 16), by=bob)
    licence(agency, concurrent=1)
    dana = agree(booking.citizen)
    dana.opened = dana.links.order_by("pk").first().pk

    async def scenario():
        alice = socket(booking.appointment, user=counselor)
        alice.scope["headers"] = [(b"accept-language", accept_language)]
        citizen = socket(booking.appointment, members=[dana])
        await enter(alice)
        await enter(citizen)
        await next_of(alice, "member", about(dana, presence="waiting"))
        await send(alice, "admit", member=str(dana.public_id))
        error = await next_of(alice, "error")
        await nothing_of(citizen, "member")
        await alice.disconnect()
        await citizen.disconnect()
        return error

    error = async_to_sync(scenario)()

    assert (error["code"], error["ref"]) == ("not_allowed", "admit")
    assert error["message"].startswith(expected)
    dana.refresh_from_db()
    assert dana.admitted_at is None
    assert Appointment.objects.get(pk=booking.appointment.pk).call_started_at is None
