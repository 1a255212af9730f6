"""Booking, changing, cancelling, inviting and removing people: the rules behind the staff
workspace. Alice books for Dana, with Olga as interpreter; Bob is Alice's colleague, Charlie
works for another agency."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.utils import timezone
from tests.personas import agree, interpreter_invitee

from videotermin.agencies.actors import AgencySystem
from videotermin.appointments import services
from videotermin.appointments.models import MAX_MEMBERS, Appointment, Link, Member
from videotermin.appointments.services import Invitee, LinkError, NotAllowed
from videotermin.audit.models import AuditEntry

Role = Member.Role


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def calendar_of(message) -> str:
    content = message.attachments[0][1]
    return content.decode() if isinstance(content, bytes) else content


def token_in(message) -> str:
    """The token of the personal link an e-mail carries."""
    return re.search(r"/j/([\w-]+)/", message.body).group(1)


def mail_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def invitee(number: int, role: str = Role.TRUSTED_PERSON) -> Invitee:
    return Invitee(name=f"Person {number}", email=f"person{number}@example.org", role=role)


def reason_of(token: str) -> str:
    with pytest.raises(LinkError) as error:
        services.resolve_link(token)
    return error.value.reason


@pytest.fixture
def olga(interpreter_booking) -> Member:
    member, _token = interpreter_booking.extras[0]
    return member


@pytest.fixture
def olgas_token(interpreter_booking) -> str:
    return interpreter_booking.extras[0][1]


# Booking


def test_a_new_booking_gives_the_citizen_a_link_that_resolves(
    book, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(customer_number="123D456789", language="en")
    citizen = services.resolve_link(booking.token)
    assert citizen == booking.citizen
    assert (citizen.role, citizen.name, citizen.email) == (
        Role.CITIZEN,
        "Dana Yilmaz",
        "dana@example.org",
    )
    assert (citizen.language, citizen.customer_number) == ("en", "123D456789")
    assert booking.appointment.citizen() == citizen
    [message] = mail.outbox
    assert message.to == ["dana@example.org"]
    citizen.refresh_from_db()
    assert citizen.invited_at is not None


def test_alice_hosts_what_she_books(booking, counselor):
    [host] = [m for m in booking.appointment.present_members() if m.is_staff]
    assert (host.role, host.user) == (Role.HOST, counselor)
    assert booking.appointment.counselor == counselor
    assert not host.links.exists()


def dana(**changes) -> Invitee:
    return Invitee(name="Dana Yilmaz", email="dana@example.org", **changes)


def test_it_refuses_a_location_of_another_agency(counselor, outsider):
    with pytest.raises(NotAllowed):
        services.create_appointment(
            by=counselor,
            location=outsider.staff.location,
            starts_at=timezone.now() + timedelta(hours=2),
            citizen=dana(),
        )
    assert not Appointment.objects.exists()


def test_only_staff_can_book(location):
    stranger = get_user_model().objects.create_user(username="mallory")
    with pytest.raises(NotAllowed):
        services.create_appointment(
            by=stranger, location=location, starts_at=timezone.now(), citizen=dana()
        )
    assert not Appointment.objects.exists()


def test_an_agencys_own_system_books_for_a_counselor_of_that_agency_and_is_audited_as_itself(
    agency, counselor, location
):
    system = AgencySystem(agency_id=agency.pk, audit_ref="apikey:7", label="Terminverwaltung")
    booking = services.create_appointment(
        by=system,
        counselor=counselor,
        location=location,
        starts_at=timezone.now() + timedelta(hours=2),
        citizen=dana(),
    )
    assert booking.appointment.counselor == counselor
    entry = AuditEntry.objects.get(action="videotermin.appointment.created")
    assert (entry.actor, entry.actor_ref, entry.actor_role) == (None, "apikey:7", "")
    services.cancel_appointment(booking.appointment, by=system)
    assert Appointment.objects.get().cancelled_at is not None


def test_an_agencys_system_cannot_book_for_staff_of_another_agency_nor_touch_its_appointments(
    agency, location, outsider, booking
):
    system = AgencySystem(agency_id=agency.pk, audit_ref="apikey:7")
    with pytest.raises(NotAllowed):
        services.create_appointment(
            by=system,
            counselor=outsider,
            location=location,
            starts_at=timezone.now() + timedelta(hours=2),
            citizen=dana(),
        )
    foreign = AgencySystem(agency_id=outsider.staff.agency_id, audit_ref="apikey:8")
    with pytest.raises(NotAllowed):
        services.cancel_appointment(booking.appointment, by=foreign)
    assert Appointment.objects.count() == 1
    assert Appointment.objects.get().cancelled_at is None


def test_an_agencys_system_must_name_the_counselor(agency, location):
    with pytest.raises(NotAllowed):
        services.create_appointment(
            by=AgencySystem(agency_id=agency.pk, audit_ref="apikey:7"),
            location=location,
            starts_at=timezone.now() + timedelta(hours=2),
            citizen=dana(),
        )


def test_a_booking_without_invitation_sends_nothing_but_tells_the_day_view(
    book, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking = book(extras=[interpreter_invitee()], send_invitation=False)
    assert booking.appointment.pk
    assert mail.outbox == []
    assert callbacks  # the day view is still told
    booking.citizen.refresh_from_db()
    assert booking.citizen.invited_at is None


def test_a_rolled_back_booking_sends_nothing(book, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        book(extras=[interpreter_invitee()])
        raise RuntimeError("the request failed after booking")
    assert mail.outbox == []
    assert not Appointment.objects.exists()


def test_booking_with_an_interpreter_gives_each_their_own_link(
    book, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(extras=[interpreter_invitee()])
    [(olga, olgas_token)] = booking.extras
    assert (olga.role, olga.name, olga.email, olga.language) == (
        Role.INTERPRETER,
        "Olga Kowalenko",
        "olga@example.org",
        "en",
    )
    assert services.resolve_link(olgas_token) == olga
    assert services.resolve_link(booking.token) == booking.citizen
    assert olgas_token != booking.token
    assert {token_in(m) for m in mail_to("olga@example.org")} == {olgas_token}
    assert {token_in(m) for m in mail_to("dana@example.org")} == {booking.token}


def test_an_interpreter_has_no_customer_number(book):
    booking = book(extras=[interpreter_invitee(customer_number="999")], customer_number="123")
    [(olga, _token)] = booking.extras
    assert olga.customer_number == ""
    assert booking.citizen.customer_number == "123"


def test_up_to_four_extra_people_can_be_invited_with_the_booking(
    book, django_capture_on_commit_callbacks
):
    extras = [interpreter_invitee(), *(invitee(n) for n in range(3))]
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(extras=extras)
    assert len(booking.appointment.present_members()) == MAX_MEMBERS
    assert len(mail.outbox) == MAX_MEMBERS - 1  # everyone but Alice


def test_a_booking_for_seven_people_is_refused_and_stores_nothing(
    book, django_capture_on_commit_callbacks
):
    extras = [interpreter_invitee(), *(invitee(n) for n in range(4))]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(NotAllowed) as refused:
        book(extras=extras)
    assert "höchstens 6 Personen" in str(refused.value)
    assert not Appointment.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("role", [Role.HOST, Role.COLLEAGUE, Role.CITIZEN])
def test_extra_people_are_interpreters_guardians_counsels_or_trusted_persons(book, role):
    with pytest.raises(ValueError):
        book(extras=[interpreter_invitee(role=role)])
    assert not Appointment.objects.exists()


# Changing the appointment


def test_changing_the_start_sends_everyone_invited_an_update_with_a_fresh_link(
    interpreter_booking, olga, olgas_token, counselor, django_capture_on_commit_callbacks
):
    appointment = interpreter_booking.appointment
    new_start = appointment.starts_at + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.update_appointment(appointment, by=counselor, starts_at=new_start)
    assert changed.starts_at == new_start
    assert changed.sequence == 1
    assert len(mail.outbox) == 2
    for member, old_token in (
        (interpreter_booking.citizen, interpreter_booking.token),
        (olga, olgas_token),
    ):
        [message] = mail_to(member.email)
        assert "METHOD:REQUEST" in calendar_of(message)
        fresh = token_in(message)
        assert fresh != old_token
        assert services.resolve_link(fresh) == member
        assert services.resolve_link(old_token) == member  # the first e-mail still works


def test_a_change_does_not_write_to_removed_people(
    interpreter_booking, olga, counselor, django_capture_on_commit_callbacks
):
    services.remove_member(olga, by=counselor)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_appointment(
            interpreter_booking.appointment, by=counselor, duration_minutes=45
        )
    assert [m.to for m in mail.outbox] == [["dana@example.org"]]


def test_saving_without_changes_sends_nothing(
    appointment, citizen, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_appointment(appointment, by=counselor, starts_at=appointment.starts_at)
        services.update_member(citizen, by=counselor, name="Dana Yilmaz", email=citizen.email)
    assert mail.outbox == []
    appointment.refresh_from_db()
    assert appointment.sequence == 0
    assert not AuditEntry.objects.filter(action__endswith=".changed").exists()


def test_a_change_of_name_alone_sends_no_update_but_renames_the_citizen(
    appointment, counselor, citizen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_member(citizen, by=counselor, name="Dana Yılmaz")
    citizen.refresh_from_db()
    assert citizen.name == "Dana Yılmaz"
    assert mail.outbox == []


def test_a_new_language_sends_an_update_in_that_language(
    booking, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_member(booking.citizen, by=counselor, language="en")
    [message] = mail.outbox
    assert message.subject.startswith("Changed: your video appointment")
    assert services.resolve_link(token_in(message)) == booking.citizen
    assert services.resolve_link(booking.token) == booking.citizen


def test_it_refuses_to_move_an_appointment_to_another_agencys_location(
    appointment, counselor, outsider
):
    with pytest.raises(NotAllowed):
        services.update_appointment(appointment, by=counselor, location=outsider.staff.location)


def test_only_the_appointment_and_member_fields_can_be_changed(appointment, citizen, counselor):
    with pytest.raises(ValueError):
        services.update_appointment(appointment, by=counselor, citizen_name="Someone")
    with pytest.raises(ValueError):
        services.update_member(citizen, by=counselor, role=Role.HOST)


def test_the_host_is_not_changed_like_someone_invited_by_link(host, counselor):
    with pytest.raises(NotAllowed):
        services.update_member(host, by=counselor, name="Mallory")


# Correcting an e-mail address


def test_correcting_the_citizens_address_ends_the_old_link_and_invites_the_new_address(
    booking, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_member(booking.citizen, by=counselor, email="dana.yilmaz@example.org")
    assert reason_of(booking.token) == LinkError.REPLACED
    [message] = mail.outbox
    assert message.to == ["dana.yilmaz@example.org"]
    assert "METHOD:REQUEST" in calendar_of(message)
    assert services.resolve_link(token_in(message)) == booking.citizen
    assert mail_to("dana@example.org") == []


def test_a_replaced_link_names_its_member(booking, counselor):
    services.update_member(booking.citizen, by=counselor, email="dana.yilmaz@example.org")
    with pytest.raises(LinkError) as error:
        services.resolve_link(booking.token)
    assert error.value.member == booking.citizen
    assert error.value.appointment == booking.appointment


def test_every_link_sent_to_the_old_address_ends(
    booking, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_invitation(booking.citizen, by=counselor)
    resent = token_in(mail.outbox[0])
    services.update_member(booking.citizen, by=counselor, email="dana.yilmaz@example.org")
    assert reason_of(booking.token) == reason_of(resent) == LinkError.REPLACED


# Inviting one more person


def test_alice_invites_an_interpreter_later(booking, counselor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        olga, token = services.add_member(booking.appointment, interpreter_invitee(), by=counselor)
    assert olga.role == Role.INTERPRETER
    assert services.resolve_link(token) == olga
    [message] = mail.outbox
    assert message.to == ["olga@example.org"]
    assert token_in(message) == token
    entry = AuditEntry.objects.get(action="videotermin.member.invited")
    assert entry.data == {"member": olga.audit_ref, "role": "interpreter"}
    assert entry.actor_ref == f"staff:{counselor.pk}"


def test_a_colleague_may_invite_too(booking, colleague):
    olga, _token = services.add_member(booking.appointment, interpreter_invitee(), by=colleague)
    assert olga in booking.appointment.present_members()


def test_charlie_of_another_agency_cannot_invite_change_remove_resend_or_cancel(
    interpreter_booking, olga, outsider, django_capture_on_commit_callbacks
):
    appointment = interpreter_booking.appointment
    attempts = [
        lambda: services.add_member(appointment, invitee(1), by=outsider),
        lambda: services.update_member(olga, by=outsider, email="charlie@example.org"),
        lambda: services.update_appointment(appointment, by=outsider, duration_minutes=5),
        lambda: services.remove_member(olga, by=outsider),
        lambda: services.resend_invitation(olga, by=outsider),
        lambda: services.cancel_appointment(appointment, by=outsider),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for attempt in attempts:
            with pytest.raises(NotAllowed):
                attempt()
    assert mail.outbox == []
    olga.refresh_from_db()
    assert (olga.email, olga.removed_at) == ("olga@example.org", None)
    appointment.refresh_from_db()
    assert (appointment.duration_minutes, appointment.cancelled_at) == (30, None)


def test_a_participant_cannot_invite_anybody(interpreter_booking, olga):
    with pytest.raises(NotAllowed):
        services.add_member(interpreter_booking.appointment, invitee(1), by=olga)


@pytest.mark.parametrize("role", [Role.HOST, Role.COLLEAGUE, Role.CITIZEN])
def test_only_extra_roles_can_be_invited_while_there_is_a_citizen(appointment, counselor, role):
    with pytest.raises(NotAllowed):
        services.add_member(appointment, invitee(1, role=role), by=counselor)


def test_a_seventh_person_is_refused(book, counselor, django_capture_on_commit_callbacks):
    booking = book(extras=[interpreter_invitee(), invitee(1), invitee(2)])  # five people
    appointment = booking.appointment
    services.add_member(appointment, invitee(3), by=counselor)  # the sixth
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(NotAllowed) as refused:
        services.add_member(appointment, invitee(4), by=counselor)
    assert "höchstens 6 Personen" in str(refused.value)
    assert appointment.members.count() == MAX_MEMBERS
    assert mail.outbox == []


def test_a_colleague_who_joined_counts_as_one_of_the_six(book, counselor, colleague):
    booking = book(extras=[interpreter_invitee(), invitee(1), invitee(2)])  # five people
    services.join_as_staff(booking.appointment, colleague)  # Bob, the sixth
    with pytest.raises(NotAllowed):
        services.add_member(booking.appointment, invitee(3), by=counselor)


def test_removing_someone_makes_room_for_another(book, counselor):
    booking = book(extras=[interpreter_invitee(), *(invitee(n) for n in range(3))])  # six
    first_extra, _token = booking.extras[1]
    services.remove_member(first_extra, by=counselor)
    newcomer, token = services.add_member(booking.appointment, invitee(9), by=counselor)
    assert services.resolve_link(token) == newcomer
    assert len(booking.appointment.present_members()) == MAX_MEMBERS


def test_nobody_is_invited_to_a_cancelled_appointment(appointment, counselor):
    services.cancel_appointment(appointment, by=counselor)
    with pytest.raises(NotAllowed):
        services.add_member(appointment, interpreter_invitee(), by=counselor)


# Removing a person


def test_removing_olga_ends_her_links_and_tells_her_she_was_taken_off(
    interpreter_booking, olga, olgas_token, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_member(olga, by=counselor)
    assert reason_of(olgas_token) == LinkError.REMOVED
    assert not Link.objects.filter(member=olga, revoked_at__isnull=True).exists()
    [message] = mail.outbox
    assert message.to == ["olga@example.org"]
    assert "has taken you off the following video consultation" in " ".join(message.body.split())
    assert "has cancelled" not in message.body
    assert "/j/" not in message.body
    assert "METHOD:CANCEL" in calendar_of(message)
    # Dana's appointment goes on.
    assert services.resolve_link(interpreter_booking.token) == interpreter_booking.citizen
    assert olga not in interpreter_booking.appointment.present_members()


def test_a_removal_is_audited_by_pseudonym_only(olga, counselor):
    services.remove_member(olga, by=counselor)
    entry = AuditEntry.objects.get(action="videotermin.member.removed")
    assert entry.data == {"member": f"member:{olga.public_id}", "role": "interpreter"}
    assert entry.actor_ref == f"staff:{counselor.pk}"
    assert entry.appointment_ref == str(olga.appointment.public_id)


def test_a_removed_person_gets_no_second_cancellation(
    interpreter_booking, olga, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_member(olga, by=counselor)
        services.remove_member(olga, by=counselor)
        services.cancel_appointment(interpreter_booking.appointment, by=counselor)
    assert len(mail_to("olga@example.org")) == 1
    assert len(mail_to("dana@example.org")) == 1


def test_a_removed_person_is_neither_changed_nor_invited_again(olga, counselor):
    services.remove_member(olga, by=counselor)
    with pytest.raises(NotAllowed):
        services.update_member(olga, by=counselor, email="olga.k@example.org")
    with pytest.raises(NotAllowed):
        services.resend_invitation(olga, by=counselor)


def test_the_host_cannot_be_removed(host, counselor, colleague):
    for by in (counselor, colleague):
        with pytest.raises(NotAllowed):
            services.remove_member(host, by=by)
    host.refresh_from_db()
    assert host.removed_at is None


# Cancelling


def test_cancelling_stops_every_link_and_tells_everyone_invited(
    interpreter_booking, olgas_token, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(interpreter_booking.appointment, by=counselor)
    assert reason_of(interpreter_booking.token) == LinkError.CANCELLED
    assert reason_of(olgas_token) == LinkError.CANCELLED
    assert sorted(m.to[0] for m in mail.outbox) == ["dana@example.org", "olga@example.org"]
    for message in mail.outbox:
        assert "METHOD:CANCEL" in calendar_of(message)
    [for_dana], [for_olga] = mail_to("dana@example.org"), mail_to("olga@example.org")
    assert "hat den folgenden Videotermin abgesagt" in " ".join(for_dana.body.split())
    assert "has cancelled the following video consultation" in " ".join(for_olga.body.split())


def test_a_cancelled_appointment_cannot_be_changed(appointment, citizen, counselor):
    services.cancel_appointment(appointment, by=counselor)
    with pytest.raises(NotAllowed):
        services.update_appointment(appointment, by=counselor, duration_minutes=45)
    with pytest.raises(NotAllowed):
        services.update_member(citizen, by=counselor, email="dana.yilmaz@example.org")


def test_cancelling_twice_is_harmless(appointment, counselor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(appointment, by=counselor)
        services.cancel_appointment(appointment, by=counselor)
    assert len(mail.outbox) == 1


# Resending


def test_resending_gives_a_new_link_and_the_old_one_keeps_working(
    booking, counselor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_invitation(booking.citizen, by=counselor)
    [message] = mail.outbox
    assert booking.token not in message.body
    assert services.resolve_link(token_in(message)) == booking.citizen
    assert services.resolve_link(booking.token) == booking.citizen
    assert booking.citizen.links.count() == 2


def test_resending_to_olga_writes_to_olga_only(olga, counselor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_invitation(olga, by=counselor)
    [message] = mail.outbox
    assert message.to == ["olga@example.org"]
    assert services.resolve_link(token_in(message)) == olga


def test_there_is_nothing_to_resend_for_a_cancelled_appointment(citizen, counselor):
    services.cancel_appointment(citizen.appointment, by=counselor)
    with pytest.raises(NotAllowed):
        services.resend_invitation(citizen, by=counselor)


def test_nothing_is_resent_to_staff(host, counselor):
    with pytest.raises(NotAllowed):
        services.resend_invitation(host, by=counselor)


# Links


def test_an_unknown_link_says_so(db):
    with pytest.raises(LinkError) as error:
        services.resolve_link("guessed-link")
    assert error.value.reason == LinkError.UNKNOWN
    assert error.value.member is None and error.value.appointment is None


def test_an_expired_link_says_so(booking):
    Appointment.objects.filter(pk=booking.appointment.pk).update(
        starts_at=timezone.now() - timedelta(hours=2)
    )
    assert reason_of(booking.token) == LinkError.EXPIRED


# The audit trail


PERSONAL = ("dana", "yilmaz", "olga", "kowalenko", "alice", "berger", "bob", "schulz", "@")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PSEUDONYM = re.compile(rf"^(staff:\d+|member:{UUID})?$")


def test_the_audit_trail_names_nobody_by_name_or_address(
    book, counselor, colleague, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(extras=[interpreter_invitee()])
        appointment = booking.appointment
        [(olga, _token)] = booking.extras
        agree(booking.citizen)
        services.update_appointment(appointment, by=counselor, duration_minutes=45)
        services.update_member(booking.citizen, by=counselor, email="dana.yilmaz@example.org")
        services.update_member(olga, by=colleague, name="Olga Kowalenko-Berg", language="de")
        services.resend_invitation(booking.citizen, by=counselor)
        guardian, _token = services.add_member(
            appointment,
            Invitee(name="Bob Yilmaz", email="bob.yilmaz@example.org", role=Role.GUARDIAN),
            by=colleague,
        )
        services.join_as_staff(appointment, colleague)
        services.remove_member(guardian, by=counselor)
        services.cancel_appointment(appointment, by=colleague)

    entries = list(AuditEntry.objects.all())
    assert {e.action.removeprefix("videotermin.") for e in entries} >= {
        "appointment.created",
        "consent.accepted",
        "appointment.changed",
        "member.changed",
        "member.invitation_resent",
        "member.invited",
        "member.colleague_joined",
        "member.removed",
        "appointment.cancelled",
    }
    for entry in entries:
        trail = (json.dumps(entry.data, ensure_ascii=False) + entry.actor_ref).lower()
        for personal in PERSONAL:
            assert personal not in trail, f"{entry.action} names {personal!r}: {trail}"
        assert PSEUDONYM.match(entry.actor_ref), entry.actor_ref
        assert entry.appointment_ref == str(appointment.public_id)
    consent_entry = next(e for e in entries if e.action == "videotermin.consent.accepted")
    assert consent_entry.actor_ref == booking.citizen.audit_ref
    assert consent_entry.actor is None


def test_the_trail_outlives_the_appointment_with_its_pseudonyms(olga, counselor):
    appointment = olga.appointment
    services.remove_member(olga, by=counselor)
    appointment.delete()
    entry = AuditEntry.objects.get(action="videotermin.member.removed")
    assert entry.appointment is None
    assert entry.appointment_ref == str(appointment.public_id)
    assert entry.data["member"] == f"member:{olga.public_id}"
    assert not Member.objects.filter(pk=olga.pk).exists()


@pytest.mark.parametrize(
    ("starts_in", "minutes"),
    [(timedelta(days=365 * 3), 30), (timedelta(days=1), 481), (timedelta(days=1), 0)],
    ids=["years-ahead", "longer-than-a-working-day", "no-time-at-all"],
)
def test_a_booking_outside_sane_times_stores_nothing_and_sends_nothing(
    counselor, location, starts_in, minutes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.NotAllowed):
        services.create_appointment(
            by=counselor,
            location=location,
            starts_at=timezone.now() + starts_in,
            duration_minutes=minutes,
            citizen=services.Invitee("Dana Yilmaz", "dana@example.org"),
        )
    assert not Appointment.objects.exists()
    assert mail.outbox == []
