"""The reads written out in SQL (lib/rows.py) give what the ORM gives: the arrival's and the
session's."""

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone
from tests.personas import agree

from videotermin.appointments.models import Member
from videotermin.calls import state
from videotermin.calls.state import SESSION_KEY, opened_member, opened_members, room_event


def fields(instance) -> dict:
    """Every stored field of a model instance, as the ORM or a statement filled it in."""
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def browser_of(*members) -> dict:
    """A browser session that opened these members' first links."""
    return {SESSION_KEY: {str(m.public_id): m.links.order_by("pk").first().pk for m in members}}


@pytest.fixture
def olga(interpreter_booking):
    return agree(interpreter_booking.extras[0][0])


@pytest.fixture
def dana(interpreter_booking):
    member = agree(interpreter_booking.citizen)
    # Values of every kind the converters must bring back: a time, JSON, booleans, a UUID.
    member.check_details = {"camera": "ok", "bandwidth": 812.5, "notes": ["ä", None]}
    member.check_result = Member.CheckResult.YELLOW
    member.waiting_since = timezone.now()
    member.camera_on = False
    member.save()
    return member


def test_the_member_a_browser_opened_is_read_with_appointment_and_agency_as_the_orm_reads_them(
    dana, olga, interpreter_booking
):
    appointment = interpreter_booking.appointment
    session = browser_of(olga, dana)

    found = opened_member(appointment.public_id, session)
    expected = opened_members(
        Member.objects.filter(appointment=appointment).select_related("appointment__agency"),
        session,
        working=True,
    ).first()

    assert found.pk == expected.pk == dana.pk
    assert fields(found) == fields(expected)
    assert fields(found.appointment) == fields(expected.appointment)
    assert model_to_dict(found.appointment.agency) == model_to_dict(expected.appointment.agency)
    # The relations come with it: reading them asks the database nothing more.
    assert found._state.fields_cache["appointment"] is found.appointment


def test_a_revoked_link_another_appointment_and_a_staff_member_find_nobody(
    dana, interpreter_booking, book, counselor
):
    appointment = interpreter_booking.appointment
    other = book().appointment
    host = appointment.members.get(user=counselor)

    assert opened_member(appointment.public_id, {}) is None
    assert opened_member(other.public_id, browser_of(dana)) is None
    assert opened_member(appointment.public_id, {SESSION_KEY: {str(host.public_id): 1}}) is None
    dana.links.update(revoked_at=timezone.now())
    assert opened_member(appointment.public_id, browser_of(dana)) is None


def test_the_room_snapshot_describes_every_member_as_the_orm_read_members_would(
    dana, olga, interpreter_booking, counselor
):
    appointment = interpreter_booking.appointment
    olga.removed_at = timezone.now()
    olga.save()

    events = state.snapshot(appointment)
    members = appointment.members.filter(removed_at=None).select_related("user").order_by("pk")

    assert events == [room_event(member, "added") for member in members]
    assert [event["member"]["name"] for event in events] == ["Alice Berger", dana.name]
    assert events[1]["details"]["checkDetails"]["notes"] == ["ä", None]


def test_a_session_is_read_back_until_it_expires_and_then_is_empty(db, settings):
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore
    session = store()
    session["participants"] = {"x": 1}
    session.set_expiry(60)
    session.save()

    assert store(session_key=session.session_key)["participants"] == {"x": 1}

    session.set_expiry(-1)
    session.save()
    expired = store(session_key=session.session_key)
    assert expired.load() == {}
    assert expired.session_key is None
    assert store(session_key="no-such-session-key-000000000000").load() == {}


def test_a_member_saved_with_its_update_written_out_reads_back_as_saved(dana):
    from django.db import DatabaseError

    from videotermin.lib.rows import save_fields

    dana.check_details = {"bandwidth": 99.5}
    dana.presence = Member.Presence.WAITING
    dana.name = "Dana Schmidt-Özdemir"
    save_fields(dana, ["check_details", "presence"])

    stored = Member.objects.get(pk=dana.pk)
    assert (stored.check_details, stored.presence) == ({"bandwidth": 99.5}, "waiting")
    # Only the named fields are written.
    assert stored.name != dana.name

    save_fields(dana)
    assert Member.objects.get(pk=dana.pk).name == "Dana Schmidt-Özdemir"

    Member.objects.filter(pk=dana.pk).delete()
    with pytest.raises(DatabaseError):
        save_fields(dana, ["presence"])


def test_a_member_read_for_a_change_is_the_orms_member_with_appointment_agency_and_user(
    dana, interpreter_booking, counselor
):
    from django.db import transaction

    from videotermin.appointments.services import locked_member

    host = interpreter_booking.appointment.members.get(user=counselor)
    for member in (dana, host):
        with transaction.atomic():
            found = locked_member(member)
        expected = Member.objects.select_related("appointment__agency", "user").get(pk=member.pk)
        assert fields(found) == fields(expected)
        assert fields(found.appointment) == fields(expected.appointment)
        assert fields(found.appointment.agency) == fields(expected.appointment.agency)
        assert found.display_name == expected.display_name
    assert found.user == counselor


def test_members_changed_at_once_are_changed_one_after_the_other(
    dana, monkeypatch, transactional_db
):
    """Each change reads the member with its row locked: four at once, none lost. (Without the
    lock all four would read the same version, wait for each other and write the same next.)"""
    import contextlib
    import threading

    from django.db import transaction
    from tests.concurrency import at_once

    from videotermin.appointments import services as appointments

    people = 4
    read = threading.Barrier(people, timeout=2)
    armed = threading.Event()
    original = appointments.member_with_room

    def read_then_wait(pk, **options):
        member = original(pk, **options)
        if armed.is_set():
            # A broken barrier: the others are held by the lock, which is what is tested.
            with contextlib.suppress(threading.BrokenBarrierError):
                read.wait()
        return member

    monkeypatch.setattr(appointments, "member_with_room", read_then_wait)
    before = Member.objects.get(pk=dana.pk).version

    def change(index: int) -> None:
        with transaction.atomic():
            appointments.save_member(appointments.locked_member(dana), "presence")

    results = at_once(change, people, armed)

    assert results == [None] * people
    assert Member.objects.get(pk=dana.pk).version == before + people
