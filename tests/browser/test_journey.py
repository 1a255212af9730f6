"""The citizen's whole journey in real browsers: booked in the staff workspace, invited by a real
SMTP server, from the e-mailed link through consent, device check and waiting room into the call,
and out to the survey; and the ways it must not go (no consent, too early, wrong, cancelled,
another agency).

The citizen's pages speak the appointment's language (German here), so the citizen's side is
driven by form values and ids, not by button texts that the translations change.
"""

import re
import secrets
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation
from icalendar import Calendar
from playwright.sync_api import expect
from tests.browser.conftest import log_in, wait_for_media
from tests.browser.mail import local, personal_link_in, read_like_a_citizen
from tests.browser.room import admit, answer, person

from videotermin.agencies.models import Agency, Location
from videotermin.appointments.models import Appointment, Member
from videotermin.consent.models import ConsentDecision
from videotermin.survey.models import SurveyResponse

pytestmark = pytest.mark.browser

# Pages answer within milliseconds, but live updates cross two WebSockets and the database.
expect.set_options(timeout=30_000)

DANA = "Dana Yilmaz"
DANA_EMAIL = "dana@example.org"

# Counts the citizen's real clicks on every page of the tab (sessionStorage survives navigation).
COUNT_CLICKS = """
document.addEventListener('click', (event) => {
    if (!event.isTrusted) return;
    sessionStorage.setItem('clicks', String(Number(sessionStorage.getItem('clicks') || 0) + 1));
}, true);
"""

# Counts the page's requests for camera and microphone.
COUNT_DEVICE_REQUESTS = """
if (navigator.mediaDevices) {
    const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) => {
        sessionStorage.setItem('deviceRequests',
            String(Number(sessionStorage.getItem('deviceRequests') || 0) + 1));
        return ask(constraints);
    };
}
"""

# Opens a WebSocket to the room from the page; resolves with what the server answered first.
TRY_ROOM_SOCKET = """(path) => new Promise((resolve) => {
    const socket = new WebSocket(`ws://${location.host}${path}`);
    let opened = false;
    socket.onopen = () => { opened = true; };
    socket.onmessage = (event) => {
        resolve({opened, first: JSON.parse(event.data).type, code: null});
        socket.close();
    };
    socket.onclose = (event) => resolve({opened, first: null, code: event.code});
})"""


@pytest.fixture
def invited(server, smtp, book):
    """Dana's appointment in three minutes, her invitation delivered to the SMTP sink."""
    booking = book(starts_in=timedelta(minutes=3), name=DANA, email=DANA_EMAIL)
    assert len(smtp.wait(1)) == 1
    return booking


@pytest.fixture
def an_hour_ahead(book):
    """Dana's appointment in an hour: the waiting room opens five minutes before it."""
    return book(starts_in=timedelta(hours=1), name=DANA, email=DANA_EMAIL)


# What the citizen does


def citizen_browser(new_context):
    """A German citizen's browser that counts her clicks and her browser's device requests."""
    context = new_context(locale="de-DE")
    context.add_init_script(COUNT_CLICKS)
    context.add_init_script(COUNT_DEVICE_REQUESTS)
    return context.new_page()


def counted(page, what: str) -> int:
    return int(page.evaluate(f"sessionStorage.getItem('{what}') || '0'"))


def calendar_event(message: EmailMessage):
    [ics] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert ics.get_filename().endswith(".ics")
    calendar = Calendar.from_ical(ics.get_content())
    [event] = calendar.walk("VEVENT")
    return calendar, event


def in_language(language: str, text: str, **values) -> str:
    """The text as the catalogue of the language has it (English where there is none yet)."""
    with translation.override(language):
        return translation.gettext(text) % values


def subject_says(subject: str, language: str, sentence: str, starts_at) -> bool:
    """The subject is the sentence in the language, naming the day and time as it writes them."""
    with translation.override(language):
        prefix = translation.gettext(sentence).partition("%(when)s")[0]
        day = formats.date_format(starts_at, "DATE_FORMAT")
        time = formats.time_format(starts_at, "TIME_FORMAT")
    return subject.startswith(prefix) and day in subject and time in subject


def agree(page) -> None:
    page.locator("button[name=decision][value=accept]").click()


def survey_form(page):
    return page.locator("form:has(input[name=easy_to_use])")


# What the counselor does


def counselor_browser(new_context, username: str = "alice"):
    """A counselor's signed-in browser tab; the staff workspace in English."""
    page = new_context(locale="en-GB").new_page()
    log_in(page, username)
    return page


def book_in_the_form(page, *, starts_at, language: str = "de") -> None:
    """Fill in the staff form as the counselor would; times are the agency's local time."""
    page.goto(reverse("staff:create"))
    page.get_by_label("Citizen's name").fill(DANA)
    # By id: the rows for extra participants have fields of the same names.
    page.locator("#id_citizen_email").fill(DANA_EMAIL)
    page.locator("#id_language").select_option(language)
    page.get_by_label("Customer number").fill("123D456789")
    page.get_by_label("Start (date and time)").fill(starts_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Duration (minutes)").fill("30")
    page.get_by_role("button", name="Book and send invitation").click()
    page.wait_for_url(re.compile(r"/staff/\?day="))


def day_view(page, appointment: Appointment) -> None:
    """Open the day of the appointment and wait until its live updates are on."""
    day = local(appointment.starts_at, appointment.agency).date().isoformat()
    page.goto(reverse("staff:day") + f"?day={day}")
    state = page.locator("#live-state")
    expect(state).to_have_text(state.get_attribute("data-connected"))


def row_of(page, appointment: Appointment):
    return page.locator(f'#day-table tr[data-appointment="{appointment.public_id}"]')


def citizen_of(appointment: Appointment) -> Member:
    return appointment.members.get(role=Member.Role.CITIZEN)


def booked_for(email: str) -> Appointment:
    return Member.objects.get(email=email, role=Member.Role.CITIZEN).appointment


# 1. The whole journey


def test_the_counselor_books_and_the_citizen_goes_from_the_emailed_link_to_the_survey(
    new_context, smtp, counselor, agency
):
    # Alice books in the staff workspace; the start is a few minutes ahead, in German.
    alice = counselor_browser(new_context)
    starts_at = local(timezone.now() + timedelta(minutes=3), agency)
    book_in_the_form(alice, starts_at=starts_at)
    appointment = booked_for(DANA_EMAIL)
    booked = citizen_of(appointment)
    assert (booked.name, booked.language) == (DANA, "de")
    assert booked.customer_number == "123D456789"
    assert appointment.members.get(role=Member.Role.HOST).user == counselor
    assert appointment.starts_at == starts_at.replace(second=0, microsecond=0)
    day_view(alice, appointment)
    alice.evaluate("window.notReloaded = true")
    row = row_of(alice, appointment)
    expect(row).to_have_attribute("data-status", "invited")

    # The invitation arrives over SMTP: text, HTML, a calendar entry, one personal link.
    smtp.wait(1)
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == [DANA_EMAIL]
    invitation = read_like_a_citizen(envelope)
    assert invitation["To"] == DANA_EMAIL
    start = local(appointment.starts_at, agency)
    assert subject_says(invitation["Subject"], "de", "Your video appointment on %(when)s", start)
    greeting = in_language("de", "Dear %(name)s,", name=DANA)
    assert greeting in invitation.get_body(("plain",)).get_content()
    assert greeting in invitation.get_body(("html",)).get_content()
    link = personal_link_in(invitation)
    calendar, event = calendar_event(invitation)
    assert str(calendar["method"]) == "REQUEST"
    assert event.decoded("dtstart") == appointment.starts_at
    assert str(event["url"]) == link

    # Dana follows the link: the token leaves the address bar at once.
    dana = citizen_browser(new_context)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert dana.goto(link).ok
    citizen = citizen_of(appointment)
    assert token not in dana.url
    assert dana.url.endswith(reverse("journey:start", args=[citizen.public_id]))
    expect(dana.locator("html")).to_have_attribute("lang", "de")

    # "I agree"; the device check then runs by itself and reports its result.
    with dana.expect_response(lambda r: r.url.endswith("/check/result/")) as reported:
        agree(dana)
    assert reported.value.ok
    expect(dana.locator("#result")).to_be_visible()
    citizen.refresh_from_db()
    assert citizen.check_result in ("green", "yellow")
    expect(dana.locator("#result-light")).to_have_class(f"light {citizen.check_result}")
    assert counted(dana, "clicks") == 1
    assert counted(dana, "deviceRequests") >= 1

    # "Enter the consultation room": the waiting room, two clicks after opening the link.
    dana.locator("#enter-link").click()
    expect(dana.locator("#waiting")).to_be_visible()
    expect(dana.locator("#room")).to_have_attribute("data-view", "waiting")
    host = appointment.members.get(role=Member.Role.HOST)
    expect(person(dana, host).locator(".name")).to_have_text("Alice Berger")
    assert counted(dana, "clicks") <= 2

    # Alice's day view shows Dana waiting, with her device check and browser, without a reload.
    expect(row).to_have_attribute("data-status", "waiting")
    citizen.refresh_from_db()
    assert citizen.presence == "waiting"
    assert "Chrome" in citizen.browser and citizen.operating_system.startswith("Linux")
    with translation.override("en"):
        check_label = str(Member.CheckResult(citizen.check_result).label)
    expect(row.locator("[data-field=status-label]")).to_have_text("waiting")
    expect(row.locator("[data-field=check-label]")).to_have_text(check_label)
    expect(row.locator(".light")).to_have_class(f"light {citizen.check_result}")
    device = row.locator("[data-field=device-details]")
    expect(device).to_contain_text(f"{citizen.browser}, {citizen.operating_system}")
    expect(device).to_contain_text("camera on, microphone on")
    assert alice.evaluate("window.notReloaded") is True

    # Alice opens the room from her day view in a second tab and lets Dana in.
    room = alice.context.new_page()
    room.goto(row.locator("[data-field=room-link]").get_attribute("href"))
    admit(room, citizen, dana)
    expect(dana.locator("#stage")).to_be_visible()

    # She confirms Dana's identity; the database records when and who.
    entry = person(room, citizen)
    entry.get_by_role("button", name="Confirm identity").click()
    expect(entry.locator(".identity-state")).to_have_text("checked")
    expect(entry.get_by_role("button", name="Confirm identity")).to_be_hidden()
    citizen.refresh_from_db()
    assert citizen.identity_checked_at is not None
    assert citizen.identity_checked_by == counselor

    # Media flows both ways.
    for page in (dana, room):
        stats = wait_for_media(page, timeout=60)
        assert stats["framesDecoded"] > 0 and stats["packetsReceived"] > 0, stats

    # Dana mutes and switches off her camera; Alice's live day view says so.
    expect(row).to_have_attribute("data-status", "in_call")
    dana.locator("#toggle-microphone").click()
    dana.locator("#toggle-camera").click()
    expect(dana.locator("#toggle-microphone")).to_have_attribute("aria-pressed", "true")
    expect(dana.locator("#toggle-camera")).to_have_attribute("aria-pressed", "true")
    expect(device).to_contain_text("camera off, microphone off")
    citizen.refresh_from_db()
    assert (citizen.camera_on, citizen.microphone_on) == (False, False)

    # Alice ends the consultation for all; Dana lands on the survey.
    room.get_by_role("button", name="End for all").click()
    answer(room)
    dana.wait_for_url(f"**{reverse('survey:start', args=[citizen.public_id])}")
    expect(row).to_have_attribute("data-status", "done")
    appointment.refresh_from_db()
    assert appointment.call_ended_at is not None

    # She answers the three questions and is thanked; the answer knows nothing of the meeting.
    survey = survey_form(dana)
    survey.locator("input[name=easy_to_use][value=yes]").check()
    survey.locator("input[name=would_recommend][value=partly]").check()
    survey.locator("input[name=next_mode][value=video]").check()
    survey.locator("button[type=submit]").click()
    dana.wait_for_url(f"**{reverse('survey:thanks', args=[citizen.public_id])}")
    expect(dana.locator("h1")).to_have_text(in_language("de", "Thank you"))
    response = SurveyResponse.objects.get()
    assert (response.agency, response.day) == (agency, local(timezone.now(), agency).date())
    assert (response.easy_to_use, response.would_recommend, response.next_mode) == (
        "yes",
        "partly",
        "video",
    )
    # Only the agency and the location (for the statistics by location, whose small cells are
    # suppressed): nothing that leads to the appointment or to her.
    related = {f.related_model for f in SurveyResponse._meta.get_fields() if f.is_relation}
    assert related == {Agency, Location}


# The e-mail speaks the appointment's language


def test_an_appointment_booked_in_english_is_announced_in_english(
    new_context, smtp, counselor, agency
):
    alice = counselor_browser(new_context)

    book_in_the_form(
        alice, starts_at=local(timezone.now() + timedelta(days=1), agency), language="en"
    )

    smtp.wait(1)
    [envelope] = smtp.envelopes
    invitation = read_like_a_citizen(envelope)
    appointment = booked_for(DANA_EMAIL)
    start = local(appointment.starts_at, agency)
    assert subject_says(invitation["Subject"], "en", "Your video appointment on %(when)s", start)
    assert invitation["Subject"].startswith("Your video appointment on ")
    text = invitation.get_body(("plain",)).get_content()
    html = invitation.get_body(("html",)).get_content()
    assert text.startswith(f"Dear {DANA},")
    assert f"Dear {DANA}," in html and '<html lang="en"' in html
    german = in_language("de", "Dear %(name)s,", name=DANA)
    assert german not in text and german not in html
    _, event = calendar_event(invitation)
    assert str(event["summary"]) == f"Video appointment: {agency.name}"


# 2. No consent


def test_a_citizen_who_does_not_agree_sees_the_alternatives_and_nothing_about_devices_is_kept(
    new_context, booking, agency
):
    dana = citizen_browser(new_context)
    dana.goto(reverse("journey:link", args=[booking.token]))

    dana.locator("button[name=decision][value=decline]").click()

    dana.wait_for_url(f"**{reverse('journey:declined', args=[booking.citizen.public_id])}")
    expect(dana.locator(".alternatives")).to_have_text(agency.alternatives)
    # The device check stays closed: it sends her back to the consent text.
    dana.goto(reverse("journey:check", args=[booking.citizen.public_id]))
    assert dana.url.endswith(reverse("journey:start", args=[booking.citizen.public_id]))
    assert counted(dana, "deviceRequests") == 0
    citizen = citizen_of(booking.appointment)
    assert citizen.consented_at is None and citizen.declined_at is not None
    assert (citizen.check_result, citizen.check_details) == ("", {})
    assert (citizen.browser, citizen.operating_system) == ("", "")
    assert (citizen.camera_on, citizen.microphone_on) == (False, False)
    assert ConsentDecision.objects.get(member=citizen).accepted is False


# 3. Too early


def test_a_citizen_an_hour_early_sees_a_countdown_and_cannot_open_the_room(
    new_context, an_hour_ahead, agency
):
    citizen = an_hour_ahead.citizen
    dana = citizen_browser(new_context)
    dana.goto(reverse("journey:link", args=[an_hour_ahead.token]))
    agree(dana)
    dana.wait_for_url(f"**{reverse('journey:check', args=[citizen.public_id])}")

    expect(dana.locator("#enter-wait")).to_be_disabled()
    expect(dana.locator("#enter-link")).to_be_hidden()
    countdown = dana.locator("#countdown")
    expect(countdown).to_have_text(re.compile(r"\b5[45]:\d\d\b"))
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first)  # it counts down by itself

    opens = local(an_hour_ahead.appointment.entry_opens_at, agency)
    dana.goto(reverse("journey:room", args=[citizen.public_id]))

    assert dana.url.endswith(reverse("journey:check", args=[citizen.public_id]))
    expect(dana.locator("#room")).to_have_count(0)
    expect(dana.locator(".messages")).to_contain_text(f"{opens:%H:%M}")
    expect(dana.locator("#enter-wait")).to_be_disabled()
    citizen.refresh_from_db()
    assert (citizen.presence, citizen.waiting_since) == ("away", None)


# 4. A wrong link


@pytest.mark.parametrize(("locale", "language"), [("de-DE", "de"), ("en-GB", "en")])
def test_a_wrong_link_says_it_is_not_valid_in_the_browsers_language(new_context, locale, language):
    page = new_context(locale=locale).new_page()

    response = page.goto(reverse("journey:link", args=[secrets.token_urlsafe(24)]))

    assert response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_have_text(in_language(language, "This link is not valid"))


# 5. A cancelled link


def test_a_link_the_counselor_cancelled_shows_the_cancelled_page_and_the_citizen_is_told_by_email(
    new_context, smtp, invited, agency
):
    appointment = invited.appointment
    invitation = read_like_a_citizen(smtp.envelopes[0])
    link = personal_link_in(invitation)
    alice = counselor_browser(new_context)
    day_view(alice, appointment)

    row_of(alice, appointment).get_by_role("link", name=re.compile(r"^Cancel")).click()
    alice.get_by_role("button", name="Yes, cancel the appointment").click()

    expect(row_of(alice, appointment)).to_have_attribute("data-status", "cancelled")
    assert len(smtp.wait(2)) == 2
    cancellation = read_like_a_citizen(smtp.envelopes[1])
    assert cancellation["To"] == DANA_EMAIL
    cancelled_on = "Cancelled: your video appointment on %(when)s"
    start = local(appointment.starts_at, agency)
    assert subject_says(cancellation["Subject"], invited.citizen.language, cancelled_on, start)
    assert cancellation.get_body(("plain",)) and cancellation.get_body(("html",))
    calendar, event = calendar_event(cancellation)
    assert (str(calendar["method"]), str(event["status"])) == ("CANCEL", "CANCELLED")
    _, invited_event = calendar_event(invitation)
    assert str(event["uid"]) == str(invited_event["uid"])  # calendars remove the same entry

    dana = citizen_browser(new_context)
    response = dana.goto(link)
    assert response.status == 410
    cancelled = in_language(invited.citizen.language, "This appointment was cancelled")
    expect(dana.locator("h1")).to_have_text(cancelled)


# 6. Another agency


def test_a_counselor_of_another_agency_neither_sees_nor_enters_the_consultation(
    new_context, appointment, outsider
):
    room_socket = f"/ws/room/{appointment.public_id}/"
    charlie = counselor_browser(new_context, "charlie")

    day_view(charlie, appointment)
    expect(row_of(charlie, appointment)).to_have_count(0)
    expect(charlie.locator("main")).not_to_contain_text(DANA)
    assert charlie.goto(reverse("staff:room", args=[appointment.public_id])).status == 404
    refused = charlie.evaluate(TRY_ROOM_SOCKET, room_socket)

    # The same script in Alice's browser gets in: it is Charlie who is refused, not the script.
    alice = counselor_browser(new_context)
    joined = alice.evaluate(TRY_ROOM_SOCKET, room_socket)

    assert joined == {"opened": True, "first": "joined", "code": None}
    # Refused at the handshake (HTTP 403), of which a browser learns only "abnormal closure".
    assert refused == {"opened": False, "first": None, "code": 1006}
