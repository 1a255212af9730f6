"""A counselor and a citizen in two real browsers: waiting room, admission, media, reload, end."""

import pytest
from django.urls import reverse
from tests.browser.conftest import log_in, media_stats, wait_for_media, wait_until

from videotermin.appointments.models import Participant

pytestmark = pytest.mark.browser


def open_citizen_room(context, booking):
    """Open the personal link (authorises this browser), then the consultation room."""
    page = context.new_page()
    page.goto(f"/j/{booking.token}/")
    page.goto(reverse("journey:room", args=[booking.citizen.public_id]))
    page.locator("#waiting").wait_for()
    return page


def open_counselor_room(context, appointment):
    page = context.new_page()
    log_in(page)
    page.goto(reverse("staff:room", args=[appointment.public_id]))
    return page


def citizen_row(booking) -> Participant:
    return Participant.objects.get(pk=booking.citizen.pk)


def admit_and_connect(counselor, citizen):
    counselor.get_by_role("button", name="Admit").click()
    citizen.locator("#call").wait_for()
    return wait_for_media(citizen), wait_for_media(counselor)


def test_the_counselor_admits_the_citizen_and_media_flows_both_ways_until_the_end(
    new_context, consented, appointment
):
    citizen = open_citizen_room(new_context(), consented)
    citizen.get_by_text("Alice Berger").wait_for()
    counselor = open_counselor_room(new_context(), appointment)
    counselor.get_by_text("Dana Yilmaz").first.wait_for()

    citizen_stats, counselor_stats = admit_and_connect(counselor, citizen)

    assert citizen_stats["framesDecoded"] > 0 and citizen_stats["packetsReceived"] > 0
    assert counselor_stats["framesDecoded"] > 0 and counselor_stats["packetsReceived"] > 0
    counselor.once("dialog", lambda dialog: dialog.accept())
    counselor.get_by_role("button", name="End consultation for all").click()
    survey_url = reverse("survey:start", args=[consented.citizen.public_id])
    citizen.wait_for_url(f"**{survey_url}")
    appointment.refresh_from_db()
    assert appointment.call_ended_at is not None


def test_a_citizen_who_reloads_during_the_call_gets_media_back_by_itself(
    new_context, consented, appointment
):
    citizen = open_citizen_room(new_context(), consented)
    counselor = open_counselor_room(new_context(), appointment)
    admit_and_connect(counselor, citizen)
    old_session = citizen_row(consented).session

    citizen.reload()
    new_session = wait_until(
        lambda: (s := citizen_row(consented).session) != old_session and s, message="new session"
    )
    counselor.wait_for_function(
        "session => window.videoterminPeers.has(session) && window.videoterminPeers.size === 1",
        arg=new_session,
    )

    citizen_stats = wait_for_media(citizen)
    counselor_stats = wait_for_media(counselor)
    assert citizen_stats["framesDecoded"] > 0 and citizen_stats["packetsReceived"] > 0
    assert counselor_stats["framesDecoded"] > 0 and counselor_stats["packetsReceived"] > 0
    assert citizen.locator("#call").is_visible()


def test_a_citizen_who_reloads_in_the_waiting_room_keeps_the_place(new_context, consented):
    citizen = open_citizen_room(new_context(), consented)
    waiting = wait_until(
        lambda: (p := citizen_row(consented)).presence == "waiting" and p, message="waiting"
    )

    citizen.reload()
    again = wait_until(
        lambda: (
            (p := citizen_row(consented)).presence == "waiting"
            and p.session != waiting.session
            and p
        ),
        message="back in the waiting room",
    )

    assert again.waiting_since == waiting.waiting_since
    assert citizen.locator("#waiting").is_visible()
    assert media_stats(citizen)["peers"] == 0


def test_the_admit_button_keeps_the_keyboard_focus_while_the_waiting_list_updates(
    new_context, consented, appointment
):
    citizen = open_citizen_room(new_context(), consented)
    counselor = open_counselor_room(new_context(), appointment)
    entry = counselor.locator(f"[data-participant='{consented.citizen.public_id}']")
    camera = entry.locator(".camera")
    camera.filter(has_text="on").wait_for()
    entry.locator(".admit").focus()

    citizen.locator("#toggle-camera").click()  # the counselor's list hears of it live

    camera.filter(has_text="off").wait_for()
    assert counselor.evaluate("document.activeElement.classList.contains('admit')")
