"""The way from the personal link to the waiting room (J3-J8), for Dana the citizen and for
Olga, her interpreter, each with a link of their own."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from tests.personas import agree as agrees
from tests.personas import interpreter_invitee

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment
from videotermin.calls import services as calls
from videotermin.calls.state import SESSION_KEY
from videotermin.consent import services as consent
from videotermin.consent.models import ConsentDecision


def link_url(token: str) -> str:
    return reverse("journey:link", args=[token])


def url(name: str, participant) -> str:
    return reverse(f"journey:{name}", args=[participant.public_id])


def open_link(client, booking):
    return client.get(link_url(booking.token))


def agree(client, participant):
    text = consent.current_text(participant.appointment.agency, participant.language)
    return client.post(url("consent", participant), {"text": text.pk, "decision": "accept"})


@pytest.fixture
def later(book):
    """Emil's appointment, in English, one hour ahead: the waiting room is not open yet."""
    return book(
        starts_in=timedelta(hours=1), name="Emil Novak", email="emil@example.org", language="en"
    )


def test_the_home_page_asks_for_the_personal_link(client, db):
    response = client.get(reverse("journey:home"))
    assert response.status_code == 200
    assert "persönlichen Link" in response.content.decode()  # German is the default language


def link_of(booking) -> int:
    """The id of the link the booking's token belongs to."""
    return booking.citizen.links.get().pk


def test_a_valid_link_redirects_and_the_token_leaves_the_address(client, booking):
    response = open_link(client, booking)
    assert response.status_code == 302
    assert response["Location"] == url("start", booking.citizen)
    assert booking.token not in response["Location"]
    assert client.session[SESSION_KEY] == {str(booking.citizen.public_id): link_of(booking)}


def test_the_link_works_twice_without_duplicating_the_session_entry(client, booking):
    open_link(client, booking)
    response = open_link(client, booking)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == {str(booking.citizen.public_id): link_of(booking)}
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize("language", ["de", "en"])
def test_an_unknown_link_gives_404_in_the_browsers_language(client, db, language):
    response = client.get(link_url("guessed-by-a-stranger"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    page = response.content.decode()
    assert f'<html lang="{language}"' in page
    if language == "en":
        assert "This link is not valid" in page
        assert "whole link" in page


def test_a_cancelled_link_gives_410(client, booking, counselor):
    appointments.cancel_appointment(booking.appointment, by=counselor)
    response = open_link(client, booking)
    assert response.status_code == 410
    assert SESSION_KEY not in client.session
    assert booking.appointment.agency.support_phone in response.content.decode()


def test_an_expired_link_gives_410(client, booking):
    Appointment.objects.filter(pk=booking.appointment.pk).update(
        starts_at=timezone.now() - timedelta(hours=2)
    )
    response = open_link(client, booking)
    assert response.status_code == 410


def test_an_appointment_cancelled_after_opening_the_link_shows_410(client, booking, counselor):
    open_link(client, booking)
    appointments.cancel_appointment(booking.appointment, by=counselor)
    assert client.get(url("start", booking.citizen)).status_code == 410


def test_the_start_page_shows_the_appointment_and_the_consent_version(client, booking):
    open_link(client, booking)
    response = client.get(url("start", booking.citizen))
    page = response.content.decode()
    appointment = booking.appointment
    starts = timezone.localtime(appointment.starts_at)
    assert starts.strftime("%H:%M") in page
    assert str(starts.year) in page
    assert appointment.agency.name in page
    assert "Musterstadt Mitte" in page
    assert "Alice Berger" in page
    text = response.context["text"]
    assert text.version == 1 and text.language == "de"
    assert text.title in page
    assert 'name="decision" value="accept"' in page


def test_agreeing_records_the_decision_with_its_version(client, booking):
    open_link(client, booking)
    response = agree(client, booking.citizen)
    assert response.status_code == 302
    assert response["Location"] == url("check", booking.citizen)
    decision = ConsentDecision.objects.get(member=booking.citizen)
    assert decision.accepted and decision.text.version == 1
    page = client.get(url("start", booking.citizen)).content.decode()
    assert url("check", booking.citizen) in page
    assert 'value="accept"' not in page


def test_a_stale_consent_text_is_shown_again_and_nothing_is_recorded(client, booking):
    open_link(client, booking)
    response = client.post(url("consent", booking.citizen), {"text": "0", "decision": "accept"})
    assert response.status_code == 200
    assert not ConsentDecision.objects.exists()


def test_declining_records_it_and_names_the_alternatives(client, booking):
    open_link(client, booking)
    text = consent.current_text(booking.appointment.agency, "de")
    response = client.post(
        url("consent", booking.citizen), {"text": text.pk, "decision": "decline"}, follow=True
    )
    page = response.content.decode()
    assert "Telefon 0800 4 555500" in page
    assert "support@musterstadt.example" in page
    assert url("start", booking.citizen) in page
    decision = ConsentDecision.objects.get(member=booking.citizen)
    assert decision.accepted is False


def test_the_check_page_requires_consent(client, booking):
    open_link(client, booking)
    response = client.get(url("check", booking.citizen))
    assert response.status_code == 302
    assert response["Location"] == url("start", booking.citizen)


def test_the_check_page_loads_its_script_and_offers_the_room_when_open(client, booking):
    open_link(client, booking)
    agree(client, booking.citizen)
    response = client.get(url("check", booking.citizen))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="module"' in page and "js/check.js" in page
    assert "<script>" not in page and "onclick" not in page
    assert response.context["room_open"] is True
    assert url("room", booking.citizen) in page


def test_the_room_is_refused_before_the_entry_time(client, later):
    open_link(client, later)
    agree(client, later.citizen)
    check = client.get(url("check", later.citizen))
    assert check.context["room_open"] is False
    assert 3000 < check.context["seconds_until_entry"] <= 3300
    response = client.get(url("room", later.citizen))
    assert response.status_code == 302
    assert response["Location"] == url("check", later.citizen)


def test_the_room_opens_at_the_entry_time(client, booking):
    open_link(client, booking)
    agree(client, booking.citizen)
    response = client.get(url("room", booking.citizen))
    assert response.status_code == 200
    assert "calls/room.html" in [template.name for template in response.templates]
    assert response.context["staff_room"] is False
    assert response.context["participant"] == booking.citizen
    assert response.context["ws_path"] == f"/ws/room/{booking.appointment.public_id}/"
    assert response.context["survey_url"] == reverse(
        "survey:start", args=[booking.citizen.public_id]
    )


@pytest.mark.parametrize("name", ["start", "check", "room", "declined"])
def test_a_participant_page_without_the_session_is_forbidden(client, booking, name):
    response = client.get(url(name, booking.citizen))
    assert response.status_code == 403
    assert "persönlichen Link" in response.content.decode()  # German is the default language


def test_another_participants_session_does_not_open_the_page(client, booking, later):
    open_link(client, later)
    assert client.get(url("start", booking.citizen)).status_code == 403


def post_check(client, participant, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url("check_result", participant), data, content_type="application/json")


def test_the_check_result_is_stored(client, booking):
    open_link(client, booking)
    agree(client, booking.citizen)
    response = post_check(
        client,
        booking.citizen,
        {
            "result": "yellow",
            "details": {
                "camera": False,
                "microphone": True,
                "browser": "Firefox 131",
                "cameraError": "missing",
            },
        },
    )
    assert response.status_code == 200
    citizen = booking.citizen
    citizen.refresh_from_db()
    assert citizen.check_result == "yellow"
    assert citizen.check_details["browser"] == "Firefox 131"
    assert citizen.camera_on is False and citizen.microphone_on is True


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        {"result": "blue"},
        {"result": "green", "details": {"camera": {"nested": True}}},
        {"result": "green", "extra": 1},
        {"result": "green", "details": {"x" * 41: True}},
    ],
)
def test_the_check_result_rejects_bad_input_and_stores_nothing(client, booking, body):
    open_link(client, booking)
    agree(client, booking.citizen)
    response = post_check(client, booking.citizen, body)
    assert response.status_code == 400
    assert response.json()["error"]
    booking.citizen.refresh_from_db()
    assert booking.citizen.check_result == ""


def test_the_check_result_needs_consent(client, booking):
    open_link(client, booking)
    response = post_check(client, booking.citizen, {"result": "green"})
    assert response.status_code == 403
    booking.citizen.refresh_from_db()
    assert booking.citizen.check_result == ""


def test_the_start_page_speaks_the_appointment_language_without_a_choice(client, booking, later):
    open_link(client, booking)
    assert '<html lang="de"' in client.get(url("start", booking.citizen)).content.decode()
    open_link(client, later)
    page = client.get(url("start", later.citizen)).content.decode()
    assert '<html lang="en"' in page
    assert "I agree" in page and "Declaration of consent" in page


def test_the_language_switch_changes_the_start_page_language(client, booking):
    open_link(client, booking)
    start = url("start", booking.citizen)
    assert '<html lang="de"' in client.get(start).content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": start})
    assert response.status_code == 302 and response["Location"] == start
    page = client.get(start).content.decode()
    assert '<html lang="en"' in page
    assert "I agree" in page
    assert "Declaration of consent" in page


def test_the_start_page_shows_the_consent_text_as_paragraphs_and_lists(client, booking):
    open_link(client, booking)
    page = client.get(url("start", booking.citizen)).content.decode()
    assert "<p>Das Angebot „Mein Videotermin“ ist freiwillig und vertraulich." in page
    assert "<li>Die technische Überprüfung Ihrer verwendeten Endgeräte" in page
    assert "(&#x27;text&#x27;" not in page and "('text'" not in page


# Everyone invited has their own way in


@pytest.fixture
def olga(interpreter_booking):
    """Olga, Dana's interpreter, and the token of her own link."""
    return interpreter_booking.extras[0]


def test_olgas_link_opens_her_own_pages(client, interpreter_booking, olga):
    member, token = olga
    response = client.get(link_url(token))
    assert response["Location"] == url("start", member)
    assert list(client.session[SESSION_KEY]) == [str(member.public_id)]
    assert client.get(url("start", interpreter_booking.citizen)).status_code == 403


def test_the_interpreters_start_page_names_her_role_and_not_the_citizen(client, olga):
    member, token = olga
    client.get(link_url(token))
    page = client.get(url("start", member)).content.decode()
    assert '<html lang="en"' in page
    assert "You take part as" in page and "interpreter" in page
    assert "Dana" not in page and "Yilmaz" not in page
    assert "Alice Berger" in page


def test_the_citizens_start_page_names_no_role(client, booking):
    open_link(client, booking)
    assert client.get(url("start", booking.citizen)).context["role_label"] == ""


def test_olgas_consent_is_her_own(client, interpreter_booking, olga):
    member, token = olga
    client.get(link_url(token))
    response = agree(client, member)
    assert response["Location"] == url("check", member)
    decision = ConsentDecision.objects.get()
    assert decision.member == member and decision.text.language == "en"


# Back into a running call


def admitted_into_a_running_call(member):
    """The member agreed, waited and was let in by Alice; the consultation is running."""
    agrees(member)
    host = member.appointment.members.get(role="host")
    calls.connect(host, session="a" * 16, channel="alice-channel")
    calls.connect(member, session="b" * 16, channel="member-channel")
    calls.admit(member, by=host)
    member.refresh_from_db()
    return member


def test_an_admitted_participant_is_sent_by_her_link_straight_into_the_running_call(
    client, booking
):
    dana = admitted_into_a_running_call(booking.citizen)
    response = open_link(client, booking)
    assert response.status_code == 302
    assert response["Location"] == url("room", dana)
    assert list(client.session[SESSION_KEY]) == [str(dana.public_id)]
    assert client.get(response["Location"]).status_code == 200


def test_who_was_not_let_in_yet_starts_at_the_start_page_although_the_call_runs(
    client, interpreter_booking, olga
):
    admitted_into_a_running_call(olga[0])
    agrees(interpreter_booking.citizen)
    response = open_link(client, interpreter_booking)
    assert response["Location"] == url("start", interpreter_booking.citizen)


def test_after_the_call_ended_the_link_of_an_admitted_participant_has_expired(client, booking):
    admitted_into_a_running_call(booking.citizen)
    host = booking.appointment.members.get(role="host")
    calls.end_call(booking.appointment, by=host)
    response = open_link(client, booking)
    assert response.status_code == 410
    assert response.context["reason"] == "expired"
    assert SESSION_KEY not in client.session


# Removed and replaced links


def test_a_removed_participants_link_gives_410_in_her_language(client, olga, counselor):
    member, token = olga
    appointments.remove_member(member, by=counselor)
    response = client.get(link_url(token), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 410
    page = response.content.decode()
    assert '<html lang="en"' in page  # Olga's language, not the browser's
    assert "You are no longer invited" in page
    assert "The agency has taken you off this video appointment" in page
    assert SESSION_KEY not in client.session


def test_a_participant_removed_while_her_page_is_open_gets_410(client, olga, counselor):
    member, token = olga
    client.get(link_url(token))
    appointments.remove_member(member, by=counselor)
    for name in ("start", "check", "room"):
        response = client.get(url(name, member))
        assert response.status_code == 410
        assert response.context["reason"] == "removed"


def test_a_link_to_a_corrected_address_gives_410_and_points_to_the_newest_e_mail(
    client, olga, counselor
):
    member, token = olga
    appointments.update_member(member, by=counselor, email="olga.k@example.org")
    response = client.get(link_url(token), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 410
    page = response.content.decode()
    assert '<html lang="en"' in page
    assert "This link was replaced" in page
    assert "Please use the link in the newest invitation e-mail" in page
    assert SESSION_KEY not in client.session


def test_the_replaced_link_of_a_german_citizen_answers_in_german(client, booking, counselor):
    appointments.update_member(booking.citizen, by=counselor, email="dana.yilmaz@example.org")
    response = open_link(client, booking)
    assert response.status_code == 410
    assert response.context["reason"] == "replaced"
    assert '<html lang="de"' in response.content.decode()


def test_the_new_link_after_a_correction_works(
    client, booking, counselor, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        appointments.update_member(booking.citizen, by=counselor, email="dana.yilmaz@example.org")
    [message] = mailoutbox
    new_link = next(word for word in message.body.split() if "/j/" in word)
    response = client.get(new_link.removeprefix(settings.SITE_URL))
    assert response["Location"] == url("start", booking.citizen)


def test_an_interpreter_invited_later_finds_her_way_in(client, booking, counselor):
    member, token = appointments.add_member(
        booking.appointment, interpreter_invitee(), by=counselor
    )
    response = client.get(link_url(token))
    assert response["Location"] == url("start", member)


def test_a_browser_that_opened_the_link_to_a_wrong_address_is_locked_out_by_the_correction(
    client, booking, counselor
):
    """Whoever got Dana's e-mail by mistake opened it already: the correction ends that too."""
    open_link(client, booking)
    assert client.get(url("start", booking.citizen)).status_code == 200
    appointments.update_member(booking.citizen, by=counselor, email="dana.yilmaz@example.org")
    for name in ("start", "check", "room"):
        response = client.get(url(name, booking.citizen))
        assert response.status_code == 410
        assert response.context["reason"] == "replaced"


def test_opening_a_link_gives_the_browser_a_new_session_key(client, booking):
    client.get("/")
    client.session.save()
    planted = client.session.session_key
    open_link(client, booking)
    assert client.session.session_key != planted
