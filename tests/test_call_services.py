"""The room's rules: presence, admission, identity, permissions, leaving, the end, the host."""

from datetime import timedelta

import pytest
from django.utils import timezone
from tests.personas import agree

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Member, Status
from videotermin.appointments.services import NotAllowed
from videotermin.audit.models import AuditEntry
from videotermin.calls import presence, services

Presence = Member.Presence
CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def connect(member, session="a" * 16):
    return services.connect(member, session=session, channel=f"channel-{session}")


def fresh(member) -> Member:
    return Member.objects.get(pk=member.pk)


@pytest.fixture
def olga(interpreter_booking):
    """Olga, the interpreter, after agreeing to the consent text."""
    return agree(interpreter_booking.extras[0][0])


@pytest.fixture
def dana(interpreter_booking):
    return agree(interpreter_booking.citizen)


@pytest.fixture
def alice(interpreter_booking, counselor):
    """Alice as the host of the consultation with Dana and Olga, connected."""
    host = interpreter_booking.appointment.members.get(user=counselor)
    return connect(host, "0" * 16)


@pytest.fixture
def bob(interpreter_booking, colleague):
    """Bob, a colleague of the same agency, who opened the room."""
    member = appointments.join_as_staff(interpreter_booking.appointment, colleague)
    return connect(member, "b" * 16)


def admitted(member, host, session="c" * 16):
    connect(member, session)
    return services.admit(member, by=host)


def test_a_citizen_without_consent_cannot_enter(citizen):
    with pytest.raises(NotAllowed):
        connect(citizen)


def test_a_citizen_cannot_enter_before_the_room_opens(consenting_citizen, appointment):
    appointment.starts_at = timezone.now() + timedelta(hours=1)
    appointment.save()
    with pytest.raises(NotAllowed):
        connect(consenting_citizen)


def test_connecting_puts_the_citizen_in_the_waiting_room_with_browser_and_os(
    consenting_citizen, appointment
):
    services.connect(
        consenting_citizen, session="a" * 16, channel="c", user_agent=CHROME_ON_ANDROID
    )
    citizen = fresh(consenting_citizen)
    assert citizen.presence == Presence.WAITING
    assert citizen.browser.startswith("Chrome")
    assert citizen.operating_system.startswith("Android")
    assert appointment.status() == Status.WAITING


def test_staff_are_in_the_call_as_soon_as_they_connect(alice, bob):
    assert (alice.presence, bob.presence) == (Presence.IN_CALL, Presence.IN_CALL)
    assert (alice.role, bob.role) == (Member.Role.HOST, Member.Role.COLLEAGUE)


def test_a_reload_keeps_the_place_in_the_waiting_room(consenting_citizen):
    connect(consenting_citizen, "a" * 16)
    first = fresh(consenting_citizen).waiting_since
    services.disconnect(consenting_citizen, channel="channel-" + "a" * 16)
    assert fresh(consenting_citizen).presence == Presence.AWAY
    connect(consenting_citizen, "d" * 16)
    assert fresh(consenting_citizen).waiting_since == first


def test_an_old_connection_going_away_leaves_the_new_one_alone(consenting_citizen):
    connect(consenting_citizen, "a" * 16)
    connect(consenting_citizen, "d" * 16)
    services.disconnect(consenting_citizen, channel="channel-" + "a" * 16)
    citizen = fresh(consenting_citizen)
    assert (citizen.presence, citizen.session) == (Presence.WAITING, "d" * 16)


def test_the_host_admits_each_person_and_the_call_starts_with_the_first(alice, dana, olga):
    admitted(dana, alice)
    appointment = alice.appointment
    appointment.refresh_from_db()
    assert appointment.call_started_at is not None
    assert appointment.status() == Status.IN_CALL
    assert fresh(olga).admitted_at is None, "admitting Dana lets nobody else in"
    admitted(olga, alice, "e" * 16)
    assert fresh(olga).presence == Presence.IN_CALL
    entries = AuditEntry.objects.filter(action="videotermin.member.admitted")
    assert {e.data["member"] for e in entries} == {dana.audit_ref, olga.audit_ref}
    assert all(e.actor_ref == alice.audit_ref for e in entries)


def test_a_colleague_cannot_admit(bob, dana):
    connect(dana)
    with pytest.raises(NotAllowed):
        services.admit(dana, by=bob)


def test_a_counselor_of_another_agency_cannot_join_or_admit(
    appointment, outsider, consenting_citizen
):
    with pytest.raises(NotAllowed):
        appointments.join_as_staff(appointment, outsider)
    connect(consenting_citizen)
    with pytest.raises(NotAllowed):
        services.admit(consenting_citizen, by=outsider)


def test_nobody_is_admitted_who_is_not_waiting(alice, dana):
    with pytest.raises(NotAllowed):
        services.admit(dana, by=alice)


def test_the_identity_check_is_recorded_per_person_with_who_and_when(alice, dana, olga, counselor):
    admitted(dana, alice)
    services.confirm_identity(dana, by=alice)
    checked = fresh(dana)
    assert checked.identity_checked_by == counselor
    assert checked.identity_checked_at is not None
    assert fresh(olga).identity_checked_at is None


def test_a_reconnecting_admitted_person_is_back_in_the_call_without_a_new_admission(alice, dana):
    admitted(dana, alice)
    services.disconnect(dana, channel="channel-" + "c" * 16)
    connect(dana, "f" * 16)
    assert fresh(dana).presence == Presence.IN_CALL


def test_the_host_allows_and_revokes_per_person_and_a_revoked_share_stops(alice, dana, olga):
    admitted(dana, alice)
    admitted(olga, alice, "e" * 16)
    services.set_permissions(dana, by=alice, share_screen=True)
    Member.objects.filter(pk=dana.pk).update(screen_on=True)
    services.set_permissions(olga, by=alice, send_documents=False, chat=False)
    assert (fresh(dana).may_share_screen, fresh(dana).screen_on) == (True, True)
    assert not fresh(olga).may("send_documents") and not fresh(olga).may("chat")
    assert fresh(olga).may("share_screen") is False, "an interpreter may speak, not share"

    services.set_permissions(dana, by=alice, share_screen=False)

    assert (fresh(dana).may_share_screen, fresh(dana).screen_on) == (False, False)
    revoked = AuditEntry.objects.filter(action="videotermin.member.permissions_changed")
    assert revoked.count() == 3


def test_only_the_host_changes_permissions(bob, dana, alice):
    admitted(dana, alice)
    with pytest.raises(NotAllowed):
        services.set_permissions(dana, by=bob, share_screen=True)
    with pytest.raises(NotAllowed):
        services.set_permissions(dana, by=dana, share_screen=True)


def test_in_the_room_only_the_host_removes_people(bob, dana, alice):
    admitted(dana, alice)
    with pytest.raises(NotAllowed):
        appointments.remove_member(dana, by=bob)
    assert fresh(dana).removed_at is None
    appointments.remove_member(dana, by=alice)
    assert fresh(dana).removed_at is not None


def test_sharing_a_screen_needs_the_permission(alice, dana):
    admitted(dana, alice)
    with pytest.raises(NotAllowed):
        services.update_status(dana, screen=True)
    services.update_status(alice, screen=True)
    assert fresh(alice).screen_on is True, "staff may always share"


def test_leaving_does_not_end_the_consultation_and_the_way_back_stays_open(alice, dana, olga):
    admitted(dana, alice)
    admitted(olga, alice, "e" * 16)
    services.leave(dana)
    appointment = alice.appointment
    appointment.refresh_from_db()
    assert appointment.call_ended_at is None
    assert fresh(dana).presence == Presence.LEFT
    assert appointment.links_valid()
    connect(dana, "f" * 16)
    assert fresh(dana).presence == Presence.IN_CALL


def test_when_the_host_hangs_up_the_others_stay(alice, dana):
    admitted(dana, alice)
    services.leave(alice)
    appointment = alice.appointment
    appointment.refresh_from_db()
    assert appointment.call_ended_at is None
    assert fresh(dana).presence == Presence.IN_CALL


def test_only_the_host_ends_the_consultation_for_everybody(alice, bob, dana):
    admitted(dana, alice)
    for somebody in (bob, dana):
        with pytest.raises(NotAllowed):
            services.end_call(alice.appointment, by=somebody)
    services.end_call(alice.appointment, by=alice)
    appointment = alice.appointment
    appointment.refresh_from_db()
    assert appointment.status() == Status.DONE
    assert {fresh(m).presence for m in (alice, bob, dana)} == {Presence.LEFT}


def test_after_its_planned_end_a_consultation_nobody_is_in_any_more_is_over(alice, dana):
    admitted(dana, alice)
    appointment = alice.appointment
    appointment.refresh_from_db()
    appointment.starts_at = timezone.now() - timedelta(minutes=45)
    appointment.save()
    services.disconnect(dana, channel="channel-" + "c" * 16)
    appointment.refresh_from_db()
    assert appointment.call_ended_at is None, "the host is still connected"
    services.disconnect(alice, channel="channel-" + "0" * 16)
    appointment.refresh_from_db()
    assert appointment.call_ended_at is not None


def test_the_host_hands_over_to_a_colleague_and_it_is_recorded(alice, bob, colleague):
    appointments.hand_over(alice.appointment, to=bob, by=alice)
    assert (fresh(alice).role, fresh(bob).role) == (Member.Role.COLLEAGUE, Member.Role.HOST)
    appointment = alice.appointment
    appointment.refresh_from_db()
    assert appointment.counselor == colleague
    entry = AuditEntry.objects.get(action="videotermin.appointment.host_handed_over")
    assert entry.data == {"previous": alice.audit_ref, "host": bob.audit_ref}


def test_a_colleague_takes_over_only_while_the_host_is_away(alice, bob):
    with pytest.raises(NotAllowed):
        appointments.hand_over(alice.appointment, to=bob, by=bob)
    services.disconnect(alice, channel="channel-" + "0" * 16)
    appointments.hand_over(alice.appointment, to=bob, by=bob)
    assert fresh(bob).role == Member.Role.HOST
    with pytest.raises(NotAllowed):
        services.admit(bob, by=alice)  # Alice is no longer the host


def test_a_colleague_opening_the_room_joins_as_a_colleague_and_never_takes_over(
    appointment, counselor, colleague
):
    bob = appointments.join_as_staff(appointment, colleague)
    again = appointments.join_as_staff(appointment, colleague)
    assert bob.pk == again.pk and bob.role == Member.Role.COLLEAGUE
    appointment.refresh_from_db()
    assert appointment.counselor == counselor
    joined = AuditEntry.objects.get(action="videotermin.member.colleague_joined")
    assert joined.data == {"member": bob.audit_ref}


def test_a_seventh_person_cannot_join(book, colleague, agency, location):
    from tests.personas import interpreter_invitee, make_staff

    booking = book(extras=[interpreter_invitee(email=f"olga{i}@example.org") for i in range(3)])
    appointments.join_as_staff(booking.appointment, colleague)  # the sixth
    carla = make_staff(agency, location, "carla", "Carla Neumann")
    with pytest.raises(NotAllowed, match="höchstens 6 Personen"):
        appointments.join_as_staff(booking.appointment, carla)


def test_a_removed_person_cannot_come_back(alice, dana):
    admitted(dana, alice)
    appointments.remove_member(dana, by=alice)
    removed = fresh(dana)
    assert (removed.presence, removed.session, removed.removed_at is not None) == (
        Presence.LEFT,
        "",
        True,
    )
    with pytest.raises(NotAllowed):
        connect(dana, "f" * 16)


def test_device_status_is_stored_only_after_consent(citizen):
    with pytest.raises(NotAllowed):
        services.update_status(citizen, camera=True, check={"result": "green"})
    assert fresh(citizen).check_result == ""


def test_every_change_raises_the_members_version(alice, dana):
    versions = [fresh(dana).version]
    connect(dana)
    versions.append(fresh(dana).version)
    services.admit(dana, by=alice)
    versions.append(fresh(dana).version)
    services.update_status(dana, camera=True)
    versions.append(fresh(dana).version)
    assert versions == sorted(set(versions)), versions


def test_a_page_that_lost_its_socket_goes_on_under_its_session_and_keeps_what_it_shares(
    alice, dana
):
    admitted(dana, alice)
    Member.objects.filter(pk=dana.pk).update(screen_on=True)
    # The socket's process died: no disconnect ran, and the page connects anew elsewhere.
    services.connect(dana, session="9" * 16, channel="elsewhere", resume="c" * 16)
    back = fresh(dana)
    assert (back.session, back.channel, back.presence) == ("c" * 16, "elsewhere", Presence.IN_CALL)
    assert back.screen_on
    # Or its socket closed first (a network drop): the last session is still its own.
    services.disconnect(dana, channel="elsewhere")
    assert fresh(dana).session == ""
    services.connect(dana, session="8" * 16, channel="again", resume="c" * 16)
    assert fresh(dana).session == "c" * 16


def test_nobody_goes_on_under_a_session_that_was_never_theirs(alice, dana, olga):
    admitted(dana, alice)
    connect(olga, "e" * 16)
    services.connect(olga, session="7" * 16, channel="olga-2", resume="c" * 16)
    assert fresh(olga).session == "7" * 16
    assert fresh(dana).session == "c" * 16


def test_the_old_socket_of_a_resumed_page_closing_late_leaves_the_member_connected(alice, dana):
    admitted(dana, alice)
    services.connect(dana, session="9" * 16, channel="new-socket", resume="c" * 16)
    services.disconnect(dana, channel="channel-" + "c" * 16)
    assert (fresh(dana).presence, fresh(dana).channel) == (Presence.IN_CALL, "new-socket")


def test_members_of_a_process_whose_lease_ran_out_are_gone_and_cannot_be_admitted(
    alice, dana, olga
):
    now = timezone.now()
    presence.renew("node-a", now - timedelta(seconds=60))
    presence.renew("node-b", now)
    services.connect(dana, session="c" * 16, channel="a!1", node="node-a")
    services.connect(olga, session="e" * 16, channel="b!1", node="node-b")
    with pytest.raises(NotAllowed):
        services.admit(dana, by=alice)  # a ghost is never let in

    assert presence.sweep(now) == 1
    gone, here = fresh(dana), fresh(olga)
    assert (gone.presence, gone.session, gone.last_session) == (Presence.AWAY, "", "c" * 16)
    assert here.presence == Presence.WAITING
    # Back through another process, under the same session, in the waiting room again.
    services.connect(dana, session="1" * 16, channel="b!2", node="node-b", resume="c" * 16)
    assert services.admit(dana, by=alice).presence == Presence.IN_CALL
    assert fresh(dana).session == "c" * 16


def test_sockets_arriving_together_share_one_renewing_task(db, monkeypatch):
    import asyncio

    from asgiref.sync import async_to_sync

    renewed = []
    monkeypatch.setattr(presence, "renew", lambda *args: renewed.append(1))

    async def scenario():
        await asyncio.gather(*(presence.start() for _ in range(20)))
        running = [task for task in asyncio.all_tasks() if task.get_coro().__name__ == "_keep"]
        for _ in range(20):
            presence.stop()
        await asyncio.sleep(0)
        return len(running)

    assert async_to_sync(scenario)() == 1
    assert len(renewed) == 1
