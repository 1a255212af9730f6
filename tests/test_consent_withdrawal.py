"""Withdrawing consent from the participant's own link: device data go at once, the links stop
working, the person leaves the call, the host sees it, and the audit trail records it without
personal data."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse
from tests.personas import agree
from tests.test_room_consumer import TIMEOUT, about, enter, next_of, opened, run, send, socket

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Member
from videotermin.audit.models import AuditEntry
from videotermin.calls.state import SESSION_KEY
from videotermin.consent import services as consent
from videotermin.consent.models import ConsentDecision

DEVICE_DATA = {
    "check_result": "green",
    "check_details": {"camera": True, "microphone": True, "rttMs": 40},
    "browser": "Firefox 140",
    "operating_system": "Linux",
    "camera_on": True,
    "microphone_on": True,
}


def with_device_data(member: Member) -> Member:
    Member.objects.filter(pk=member.pk).update(**DEVICE_DATA)
    member.refresh_from_db()
    return member


def assert_no_device_data(member: Member) -> None:
    member = Member.objects.get(pk=member.pk)
    assert member.check_result == ""
    assert member.check_details == {}
    assert member.browser == member.operating_system == ""
    assert not (member.camera_on or member.microphone_on or member.screen_on)


@pytest.fixture
def dana(consenting_citizen):
    return with_device_data(consenting_citizen)


def test_withdrawing_deletes_device_data_revokes_links_and_keeps_the_proof(dana):
    appointments.issue_link(dana)  # a resent invitation: a second link
    agreed = ConsentDecision.objects.get(member=dana, accepted=True)

    consent.withdraw(dana, by=dana)

    member = Member.objects.get(pk=dana.pk)
    assert member.withdrawn_at is not None
    assert member.consented_at is None
    assert member.presence == Member.Presence.LEFT
    assert member.session == member.channel == ""
    assert_no_device_data(member)
    assert member.links.count() == 2
    assert not member.links.filter(revoked_at__isnull=True).exists()
    agreed.refresh_from_db()
    assert agreed.withdrawn_at == member.withdrawn_at
    assert agreed.accepted and agreed.text_id  # the version agreed to stays as proof


def test_the_audit_entry_names_the_member_by_pseudonym_only(dana):
    consent.withdraw(dana, by=dana)
    entry = AuditEntry.objects.get(action="videotermin.consent.withdrawn")
    assert entry.actor is None
    assert entry.actor_ref == dana.audit_ref
    assert entry.data == {"member": dana.audit_ref, "role": "citizen"}
    stored = f"{entry.actor_ref} {entry.data}"
    for personal in (dana.name, dana.email, "Firefox", "Linux"):
        assert personal not in stored


def test_the_day_view_shows_whose_consent_was_withdrawn_live_and_on_reload(
    interpreter_booking, counselor
):
    from videotermin.staff.live import describe

    dana = agree(interpreter_booking.citizen)
    olga = agree(interpreter_booking.extras[0][0])
    consent.withdraw(olga, by=olga)
    consent.withdraw(dana, by=dana)
    appointment = interpreter_booking.appointment

    summary = describe(str(appointment.public_id), counselor)
    assert summary is not None
    assert (summary["status"], summary["citizen"]["name"]) == ("withdrawn", "Dana Yilmaz")
    assert [(e["name"], e["presence"]) for e in summary["extras"]] == [
        ("Olga Kowalenko", "withdrawn")
    ]
    client = Client()
    client.force_login(counselor)
    row = client.get(reverse("staff:day")).text
    assert "Einwilligung widerrufen" in row
    assert "Olga Kowalenko (Dolmetscherin/Dolmetscher), Einwilligung widerrufen" in row
    assert reverse("staff:resend", args=[appointment.public_id]) not in row


def test_nobody_sends_a_new_link_to_a_person_who_withdrew(dana, counselor):
    consent.withdraw(dana, by=dana)
    with pytest.raises(appointments.NotAllowed):
        appointments.resend_invitation(dana, by=counselor)
    assert dana.links.filter(revoked_at__isnull=True).count() == 0


def test_staff_and_the_host_cannot_withdraw_for_someone(dana, counselor, host):
    for by in (counselor, host):
        with pytest.raises(appointments.NotAllowed):
            consent.withdraw(dana, by=by)
    member = Member.objects.get(pk=dana.pk)
    assert member.withdrawn_at is None and member.check_result == "green"
    assert not AuditEntry.objects.filter(action="videotermin.consent.withdrawn").exists()


def test_nobody_withdraws_for_another_participant(interpreter_booking):
    dana = agree(interpreter_booking.citizen)
    olga = agree(interpreter_booking.extras[0][0])
    with pytest.raises(appointments.NotAllowed):
        consent.withdraw(dana, by=olga)


def test_a_second_withdrawal_is_harmless(dana):
    first = consent.withdraw(dana, by=dana).withdrawn_at
    again = consent.withdraw(dana, by=Member.objects.get(pk=dana.pk))
    assert again.withdrawn_at == first
    assert AuditEntry.objects.filter(action="videotermin.consent.withdrawn").count() == 1


def test_a_withdrawn_link_no_longer_opens(booking):
    dana = agree(booking.citizen)
    consent.withdraw(dana, by=dana)
    with pytest.raises(appointments.LinkError) as error:
        appointments.resolve_link(booking.token)
    assert error.value.reason == appointments.LinkError.WITHDRAWN


# The room: the host sees the person go, marked as having withdrawn ----------------------------


@pytest.mark.django_db(transaction=True)
def test_the_host_sees_the_withdrawal_over_the_room_socket(booking, counselor):
    dana = opened(with_device_data(agree(booking.citizen)))
    alice = socket(booking.appointment, user=counselor)
    own = socket(booking.appointment, members=[dana])

    async def scenario():
        await enter(alice)
        await enter(own)
        await send(alice, "admit", member=str(dana.public_id))
        await next_of(own, "member", about(dana, presence="in_call"))
        await next_of(alice, "member", about(dana, presence="in_call"))

        await database_sync_to_async(consent.withdraw)(dana, by=dana)

        closed = await next_of(own, "closed")
        assert closed["reason"] == "withdrawn"
        assert (await own.receive_output(TIMEOUT))["code"] == 4410
        seen = await next_of(alice, "member", about(dana, presence="left", withdrawn=True))
        assert seen["op"] == "changed"
        assert seen["member"]["check"] is None and seen["member"]["browser"] == ""
        # The link no longer opens the room.
        again = socket(booking.appointment, members=[dana])
        connected, code = await again.connect(TIMEOUT)
        if connected:
            code = (await again.receive_output(TIMEOUT)).get("code")
        assert code == 4403
        await alice.disconnect(timeout=TIMEOUT)

    run(scenario)
    assert_no_device_data(dana)


# The pages -----------------------------------------------------------------------------------


def url(name: str, member) -> str:
    return reverse(f"journey:{name}", args=[member.public_id])


@pytest.fixture
def english(book):
    """Emil, who reads English, has agreed and opened his link in this browser."""
    booking = book(name="Emil Novak", email="emil@example.org", language="en")
    return booking


def open_and_agree(client, booking) -> Member:
    client.get(reverse("journey:link", args=[booking.token]))
    member = agree(booking.citizen)
    return with_device_data(member)


@pytest.mark.parametrize("page", ["start", "check", "room"])
def test_every_page_after_consent_offers_the_withdrawal(client, booking, page):
    dana = open_and_agree(client, booking)
    response = client.get(url(page, dana))
    assert response.status_code == 200
    body = response.content.decode()
    assert url("withdraw", dana) in body
    assert "Einwilligung widerrufen" in body


def test_the_confirmation_page_explains_the_consequences(client, booking, agency):
    dana = open_and_agree(client, booking)
    response = client.get(url("withdraw", dana))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Einwilligung jetzt widerrufen" in body
    assert "werden sofort gelöscht" in body
    assert agency.alternatives in body
    assert agency.support_phone in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert Member.objects.get(pk=dana.pk).withdrawn_at is None  # showing it changes nothing


def test_withdrawing_needs_the_csrf_token(booking):
    client = Client(enforce_csrf_checks=True)
    dana = open_and_agree(client, booking)
    assert client.post(url("withdraw", dana)).status_code == 403
    assert Member.objects.get(pk=dana.pk).withdrawn_at is None


def test_withdrawing_by_post_shows_the_final_page_and_closes_every_page(client, english):
    emil = open_and_agree(client, english)
    response = client.post(url("withdraw", emil))
    assert response.status_code == 302
    assert response["Location"] == url("withdrawn", emil)
    final = client.get(response["Location"])
    assert final.status_code == 200
    body = final.content.decode()
    assert '<html lang="en"' in body
    assert "Your consent has been withdrawn" in body
    assert "no disadvantage" in body
    assert_no_device_data(emil)

    for page in ("start", "check", "room", "withdraw"):
        refused = client.get(url(page, emil))
        assert refused.status_code == 410, page
        assert "Your consent has been withdrawn" in refused.content.decode()
    assert client.post(url("withdraw", emil)).status_code == 410
    again = client.get(reverse("journey:link", args=[english.token]))
    assert again.status_code == 410
    assert "Your consent has been withdrawn" in again.content.decode()


def test_the_refusal_speaks_german_to_a_german_participant(client, booking):
    dana = open_and_agree(client, booking)
    client.post(url("withdraw", dana))
    refused = client.get(url("room", dana))
    assert refused.status_code == 410
    body = refused.content.decode()
    assert '<html lang="de"' in body
    assert "Ihre Einwilligung wurde widerrufen" in body
    assert "kein Nachteil" in body


def test_another_browser_cannot_withdraw(client, booking):
    dana = agree(booking.citizen)
    client.session[SESSION_KEY] = {}
    assert client.post(url("withdraw", dana)).status_code == 403
    assert client.get(url("withdrawn", dana)).status_code == 403
    assert Member.objects.get(pk=dana.pk).withdrawn_at is None


def test_the_final_page_is_only_for_a_withdrawal(client, booking):
    dana = open_and_agree(client, booking)
    response = client.get(url("withdrawn", dana))
    assert response.status_code == 302
    assert response["Location"] == url("start", dana)
