"""Consultations of several people in real browsers, one browser context per person: the
counselor, the citizen and her interpreter see and hear each other on every pair; a colleague
joins, a member is added during the call and another removed; members reload, close the tab
and come back; the call stage fits a laptop and a phone either way round."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.browser.conftest import log_in, media_stats, wait_for_media, wait_until
from tests.browser.mail import local, personal_link_in, read_like_a_citizen
from tests.browser.room import (
    admit,
    answer,
    in_call,
    meet,
    member_row,
    open_member_room,
    open_panel,
    open_staff_room,
    peers_of,
    person,
    session_of,
)
from tests.personas import agree, interpreter_invitee

from videotermin.appointments.models import Appointment, Member
from videotermin.survey.models import SurveyResponse

pytestmark = pytest.mark.browser

SIZES = {"laptop": (1366, 768), "phone": (390, 844), "phone on its side": (844, 390)}


@pytest.fixture
def dana(interpreter_booking):
    """Dana, the citizen, having agreed: her link leads into the room."""
    return agree(interpreter_booking.citizen)


@pytest.fixture
def olga(interpreter_booking):
    """Olga, Dana's interpreter, having agreed too."""
    return agree(interpreter_booking.extras[0][0])


@pytest.fixture
def appointment(interpreter_booking):
    return interpreter_booking.appointment


@pytest.fixture
def three(new_context, interpreter_booking, dana, olga, appointment):
    """Alice hosting, Dana and Olga admitted, media flowing on every pair."""
    alice = open_staff_room(new_context(), appointment)
    citizen = open_member_room(new_context(), interpreter_booking.token, dana)
    interpreter = open_member_room(new_context(), interpreter_booking.extras[0][1], olga)
    admit(alice, dana, citizen)
    admit(alice, olga, interpreter)
    for page in (alice, citizen, interpreter):
        wait_for_media(page, peers=2)
    return alice, citizen, interpreter


def tile_labels(page) -> list[str]:
    return sorted(
        " ".join(t.split()) for t in page.locator("#tiles li.tile .tile-label").all_inner_texts()
    )


def test_alice_dana_and_olga_book_join_and_hear_each_other_until_the_survey(
    new_context, smtp, counselor, agency
):
    """From the booking form to the survey, each person with their own e-mail, link, consent,
    device check and admission."""
    alice = new_context(locale="en-GB").new_page()
    log_in(alice)
    alice.goto(reverse("staff:create"))
    alice.get_by_label("Citizen's name").fill("Dana Yilmaz")
    alice.locator("#id_citizen_email").fill("dana@example.org")
    alice.locator("#id_language").select_option("de")
    starts_at = local(timezone.now(), agency)
    alice.get_by_label("Start (date and time)").fill(starts_at.strftime("%Y-%m-%dT%H:%M"))
    alice.locator("#id_extra-0-role").select_option("interpreter")
    alice.locator("#id_extra-0-name").fill("Olga Kowalenko")
    alice.locator("#id_extra-0-email").fill("olga@example.org")
    alice.locator("#id_extra-0-language").select_option("en")
    alice.get_by_role("button", name="Book and send invitation").click()
    alice.wait_for_url(re.compile(r"/staff/\?day="))

    smtp.wait(2)
    envelopes = {e.rcpt_tos[0]: e for e in smtp.envelopes}
    assert set(envelopes) == {"dana@example.org", "olga@example.org"}
    links = {to: personal_link_in(read_like_a_citizen(e)) for to, e in envelopes.items()}
    assert links["dana@example.org"] != links["olga@example.org"]
    olga_mail = read_like_a_citizen(envelopes["olga@example.org"])
    assert "interpreter" in olga_mail.get_body(("plain",)).get_content()
    assert "Dana" not in olga_mail.get_body(("plain",)).get_content()

    pages = {}
    for to, locale in (("dana@example.org", "de-DE"), ("olga@example.org", "en-GB")):
        page = new_context(locale=locale).new_page()
        page.goto(links[to])
        page.locator("button[name=decision][value=accept]").click()
        page.locator("#enter-link").click()
        page.locator("#room[data-view='waiting']").wait_for()
        pages[to] = page
    citizen, interpreter = pages["dana@example.org"], pages["olga@example.org"]
    appointment = Appointment.objects.get()
    dana = appointment.members.get(role="citizen")
    olga = appointment.members.get(role="interpreter")
    assert dana.consented_at and olga.consented_at

    alice.goto(reverse("staff:room", args=[appointment.public_id]))
    admit(alice, dana, citizen)
    assert interpreter.locator("#room").get_attribute("data-view") == "waiting", (
        "admitting Dana lets nobody else in"
    )
    admit(alice, olga, interpreter)
    for page in (alice, citizen, interpreter):
        stats = wait_for_media(page, peers=2)
        assert stats["peers"] == 2
    assert tile_labels(interpreter) == [
        "Alice Berger counselor",
        "Dana Yilmaz citizen",
    ]
    assert tile_labels(alice) == ["Dana Yilmaz citizen", "Olga Kowalenko interpreter"]

    person(alice, dana).get_by_role("button", name="Confirm identity").click()
    wait_until(lambda: member_row(dana).identity_checked_at, message="Dana's identity check")
    assert member_row(olga).identity_checked_at is None

    alice.locator("#end").click()
    answer(alice)
    for page, member in ((citizen, dana), (interpreter, olga)):
        page.wait_for_url(f"**{reverse('survey:start', args=[member.public_id])}")
    interpreter.locator("input[name=easy_to_use][value=yes]").check()
    interpreter.locator("form:has(input[name=easy_to_use]) button[type=submit]").click()
    interpreter.wait_for_url("**/thanks/")
    assert SurveyResponse.objects.count() == 1
    appointment.refresh_from_db()
    assert appointment.call_ended_at is not None


def test_a_colleague_who_opens_the_room_is_announced_and_joins_the_mesh(
    three, new_context, appointment, colleague
):
    alice, citizen, interpreter = three
    bob = open_staff_room(new_context(), appointment, "bob")
    # Each page names his role in its own language: Dana's is German.
    for page, role in (
        (alice, "colleague"),
        (citizen, "Kollegin/Kollege"),
        (interpreter, "colleague"),
    ):
        page.locator("#tiles .tile-label").filter(has_text=f"Bob Schulz {role}").wait_for()
        wait_for_media(page, peers=3)
    wait_for_media(bob, peers=3)
    assert re.search("Bob Schulz", citizen.locator("#status").inner_text())
    appointment.refresh_from_db()
    assert appointment.counselor.username == "alice", "a colleague never takes over silently"


def test_six_people_see_and_hear_each_other_on_every_one_of_the_fifteen_pairs(book, new_context):
    booking = book(
        extras=[
            interpreter_invitee(),
            interpreter_invitee(name="Gerd Brandt", email="gerd@example.org", role="guardian"),
            interpreter_invitee(name="Lea Wolf", email="lea@example.org", role="legal_counsel"),
            interpreter_invitee(name="Tom Weber", email="tom@example.org", role="trusted_person"),
        ]
    )
    invited = [(booking.token, agree(booking.citizen))]
    invited += [(token, agree(member)) for member, token in booking.extras]

    # Each page sets up five peer connections at once: none of their offers, answers or ICE
    # candidates may crowd out another's (each page decodes video from all five others).
    pages = meet(new_context, booking.appointment, *invited)

    for page in pages:
        states = page.evaluate(
            "[...window.videoterminPeers.values()].map((peer) => peer.pc.connectionState)"
        )
        assert states == ["connected"] * 5
        assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
        # Above four people no page sends its camera in full quality (docs/protocol.md): data
        # saver, or audio only where the machine or the line is too slow even for that.
        assert page.evaluate("window.videoterminQuality.current") in ("saver", "audio")


def test_a_person_invited_during_the_call_joins_it(three, new_context, smtp, appointment):
    alice, citizen, interpreter = three
    open_panel(alice, "people")
    form = alice.locator("#invite-form")
    form.locator("select[name=role]").select_option("guardian")
    form.locator("input[name=name]").fill("Gerd Vormund")
    form.locator("input[name=email]").fill("gerd@example.org")
    form.get_by_role("button", name="Send invitation").click()
    alice.locator("#status").filter(has_text="Gerd Vormund is invited").wait_for()

    smtp.wait(1)
    [envelope] = smtp.envelopes
    link = personal_link_in(read_like_a_citizen(envelope))
    gerd = Member.objects.get(email="gerd@example.org")
    guardian = new_context().new_page()
    guardian.goto(link)
    guardian.locator("button[name=decision][value=accept]").click()
    guardian.goto(reverse("journey:room", args=[gerd.public_id]))
    guardian.locator("#room[data-view='waiting']").wait_for()
    admit(alice, gerd, guardian)
    for page in (alice, citizen, interpreter, guardian):
        wait_for_media(page, peers=3)


def test_a_removed_person_leaves_the_call_and_their_link_stops_working(
    three, new_context, interpreter_booking, olga
):
    alice, citizen, interpreter = three
    person(alice, olga).get_by_role("button", name="Remove").click()
    answer(alice)
    interpreter.locator("#over-title").filter(has_text="no longer part").wait_for()
    for page in (alice, citizen):
        page.wait_for_function("() => window.videoterminPeers.size === 1")
        assert page.locator("#tiles .tile-label").filter(has_text="Olga").count() == 0
    again = new_context().new_page()
    response = again.goto(f"/j/{interpreter_booking.extras[0][1]}/")
    assert response.status == 410


def test_nobody_can_send_a_signal_in_another_members_name_or_into_another_room(
    three, book, dana, olga
):
    alice, citizen, interpreter = three
    other = book(name="Emil Sommer", email="emil@example.org")
    # Olga's page tries to speak as Dana, and to reach a connection that is not in her room.
    answers = interpreter.evaluate(
        """async ([danaSession, foreign]) => {
            const connection = window.videoterminConnection;
            const errors = [];
            const listen = (event) => errors.push(event.detail);
            connection.addEventListener('error', listen);
            connection.send('signal', {to: danaSession, from: danaSession,
                candidate: {candidate: ''}});
            connection.send('signal', {to: foreign, candidate: {candidate: ''}});
            await new Promise((resolve) => setTimeout(resolve, 1000));
            connection.removeEventListener('error', listen);
            return errors.map((e) => [e.code, e.ref]);
        }""",
        [member_row(dana).session, "0123456789abcdef"],
    )
    assert answers == [["invalid", "signal"], ["not_allowed", "signal"]]
    assert other.appointment.members.exclude(session="").count() == 0


def test_a_member_who_reloads_is_back_in_the_call_and_the_mesh_heals(three, olga):
    alice, citizen, interpreter = three
    before = session_of(olga)
    interpreter.reload()
    after = session_of(olga, other_than=before)
    for page in (alice, citizen):
        page.wait_for_function(
            "s => window.videoterminPeers.has(s) && window.videoterminPeers.size === 2", arg=after
        )
        wait_for_media(page, peers=2)
    in_call(interpreter)
    wait_for_media(interpreter, peers=2)
    assert member_row(olga).presence == "in_call"


def test_a_member_who_closes_the_tab_comes_back_through_the_same_link_without_consent_again(
    three, interpreter_booking, olga
):
    alice, citizen, interpreter = three
    context = interpreter.context
    before = session_of(olga)
    interpreter.close()
    wait_until(lambda: member_row(olga).presence == "away", message="Olga away")
    alice.wait_for_function("() => window.videoterminPeers.size === 1")

    page = context.new_page()
    page.goto(f"/j/{interpreter_booking.extras[0][1]}/")
    page.wait_for_url(f"**{reverse('journey:room', args=[olga.public_id])}")
    in_call(page)
    session_of(olga, other_than=before)
    for each in (alice, citizen, page):
        wait_for_media(each, peers=2)


def test_a_citizen_who_leaves_by_accident_is_asked_and_can_come_back(three, dana):
    alice, citizen, interpreter = three
    citizen.locator("#hangup").click()
    answer(citizen, yes=False)
    assert citizen.locator("#room").get_attribute("data-view") == "call"

    citizen.locator("#hangup").click()
    answer(citizen)
    citizen.wait_for_url(f"**{reverse('survey:start', args=[dana.public_id])}")
    alice.wait_for_function("() => window.videoterminPeers.size === 1")
    assert media_stats(interpreter)["peers"] == 1, "Alice and Olga go on"

    citizen.locator(f"a[href='{reverse('journey:room', args=[dana.public_id])}']").click()
    in_call(citizen)
    wait_for_media(citizen, peers=2)
    wait_for_media(alice, peers=2)


def test_a_participant_who_reloads_in_the_waiting_room_keeps_the_place(
    new_context, interpreter_booking, dana
):
    citizen = open_member_room(new_context(), interpreter_booking.token, dana)
    waiting = wait_until(
        lambda: (m := member_row(dana)).presence == "waiting" and m, message="waiting"
    )
    citizen.reload()
    again = wait_until(
        lambda: (
            (m := member_row(dana)).presence == "waiting" and m.session != waiting.session and m
        ),
        message="back in the waiting room",
    )
    assert again.waiting_since == waiting.waiting_since
    assert citizen.locator("#room").get_attribute("data-view") == "waiting"
    assert peers_of(citizen) == []


def test_the_admit_button_keeps_the_keyboard_focus_while_the_waiting_list_updates(
    new_context, interpreter_booking, dana, appointment
):
    citizen = open_member_room(new_context(), interpreter_booking.token, dana)
    alice = open_staff_room(new_context(), appointment)
    open_panel(alice, "people")
    entry = person(alice, dana)
    camera = entry.locator(".camera")
    camera.filter(has_text="on").wait_for()
    entry.get_by_role("button", name="Admit").focus()

    citizen.locator("#toggle-camera").click()  # the host's list hears of it live

    camera.filter(has_text="off").wait_for()
    assert alice.evaluate("document.activeElement.classList.contains('admit')")


CONTROLS_VISIBLE = """() => {
    const inside = (el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0
            && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5;
    };
    const controls = [...document.querySelectorAll('.control-bar button')]
        .filter((b) => !b.hidden && getComputedStyle(b).display !== 'none');
    const own = document.getElementById('own-tile').getBoundingClientRect();
    const covered = controls.filter((b) => {
        const r = b.getBoundingClientRect();
        return r.left < own.right && r.right > own.left && r.top < own.bottom && r.bottom > own.top;
    });
    return {
        count: controls.length,
        outside: controls.filter((b) => !inside(b)).map((b) => b.id),
        covered: covered.map((b) => b.id),
        scrolls: document.documentElement.scrollHeight > innerHeight + 1
            || document.documentElement.scrollWidth > innerWidth + 1,
    };
}"""


@pytest.fixture
def two(new_context, interpreter_booking, dana, appointment):
    """Alice hosting and Dana admitted: two people, her own picture small over the stage."""
    alice = open_staff_room(new_context(), appointment)
    citizen = open_member_room(new_context(), interpreter_booking.token, dana)
    admit(alice, dana, citizen)
    for page in (alice, citizen):
        wait_for_media(page)
    return alice, citizen


# Where the pictures of the call stage are kept for people to look at (var/ is not committed).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("people", ["two", "three"])
def test_every_control_of_the_call_stage_is_in_view_and_the_own_picture_covers_none(
    request, new_context, people, size
):
    pages = request.getfixturevalue(people)  # (new_context first: it sets the database up)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for index, page in enumerate(pages):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.wait_for_timeout(300)
        layout = page.evaluate(CONTROLS_VISIBLE)
        assert layout["count"] >= 5, layout
        assert layout == {**layout, "outside": [], "covered": [], "scrolls": False}
        name = f"{people}-{index}-{size[0]}x{size[1]}"
        page.screenshot(path=SCREENSHOTS / f"{name}.png")
        for panel in ("people", "chat", "settings"):
            open_panel(page, panel)
            page.wait_for_timeout(200)
            after = page.evaluate(CONTROLS_VISIBLE)
            assert after == {**after, "outside": [], "covered": [], "scrolls": False}, panel
            page.screenshot(path=SCREENSHOTS / f"{name}-{panel}.png")
            page.locator(f"#open-{panel}").click()  # closes it again


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_arabic_call_stage_is_mirrored_and_every_control_is_in_view(book, new_context, size):
    booking = book(language="ar")
    alice = open_staff_room(new_context(), booking.appointment)
    citizen = agree(booking.citizen)
    page = open_member_room(new_context(), booking.token, citizen)
    admit(alice, citizen, page)
    wait_for_media(page)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.dir") == "rtl"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = f"arabic-{size[0]}x{size[1]}"
    for panel in (None, "people", "chat", "settings"):
        if panel:
            open_panel(page, panel)
            page.wait_for_timeout(200)
        layout = page.evaluate(CONTROLS_VISIBLE)
        assert layout == {**layout, "outside": [], "covered": [], "scrolls": False}, panel
        page.screenshot(path=SCREENSHOTS / f"{name}{'-' + panel if panel else ''}.png")
        if panel:
            page.locator(f"#open-{panel}").click()
