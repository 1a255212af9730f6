"""Personal links: what the site promises about them.

- A link's token never reaches the log in full, wrong, cut off, expired or cancelled; nor does a
  participant's id.
- Links cannot be guessed by the thousand: look-ups are limited per address and altogether, and
  whoever is held off gets a page in their language saying what to do.
- A link's error page passes its address on to nobody.
"""

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment
from videotermin.lib.logging import redact

GUESS = "Zq7vK2mXw9LpR4tYb8NcH3sJ6dFgA1uE"


def link_url(token: str) -> str:
    return reverse("journey:link", args=[token])


def logged(caplog) -> str:
    """Everything the log says, messages and tracebacks, as the handlers write it."""
    formatter = logging.Formatter("%(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


# The token never reaches the log


def test_a_strangers_guessed_link_is_logged_only_by_its_first_characters(client, db, log):
    response = client.get(link_url(GUESS))
    assert response.status_code == 404
    assert "Dieser Link ist ungültig" in response.content.decode()
    text = logged(log)
    assert f"/j/{GUESS[:4]}…" in text, "the look-up is still logged, shortened"
    assert GUESS[:5] not in text


def test_danas_link_cut_off_in_copying_cannot_be_completed_from_the_log(client, booking, log):
    cut = booking.token[:-3]
    assert client.get(link_url(cut)).status_code == 404
    text = logged(log)
    assert cut not in text
    assert booking.token[4:12] not in text


@pytest.mark.parametrize("end", ["cancelled", "expired"])
def test_an_ended_link_of_dana_is_not_logged_either(client, booking, counselor, log, end):
    if end == "cancelled":
        appointments.cancel_appointment(booking.appointment, by=counselor)
    else:
        Appointment.objects.filter(pk=booking.appointment.pk).update(
            starts_at=timezone.now() - timedelta(hours=2)
        )
    assert client.get(link_url(booking.token)).status_code == 410
    assert booking.token[4:12] not in logged(log)


def test_danas_participant_id_is_not_logged_when_a_stranger_tries_her_pages(client, citizen, log):
    for name in ("start", "check", "room"):
        assert client.get(reverse(f"journey:{name}", args=[citizen.public_id])).status_code == 403
    text = logged(log)
    assert "Forbidden" in text, "the refusals are still logged"
    assert str(citizen.public_id)[4:] not in text


def test_the_servers_access_log_keeps_its_shape_without_the_token(log):
    # uvicorn's access formatter unpacks exactly these five arguments.
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "192.0.2.7:5000", "GET", f"/j/{GUESS}/", "1.1", 404)
    (record,) = [r for r in log.records if r.name == "uvicorn.access"]
    assert len(record.args) == 5
    assert GUESS[:5] not in record.getMessage()


def test_a_token_given_apart_from_its_path_is_shortened_in_the_finished_message(log):
    logging.getLogger("videotermin").info("link opened: /j/%s/ by %s", GUESS, "the citizen")
    assert GUESS[:5] not in logged(log)
    assert "/j/" + GUESS[:4] in logged(log)


def test_a_traceback_does_not_carry_the_token_either(log):
    try:
        raise LookupError(f"no appointment for /j/{GUESS}/")
    except LookupError:
        logging.getLogger("videotermin").exception("a failed look-up")
    assert GUESS[:5] not in logged(log)


def test_shortening_leaves_other_text_alone():
    assert redact("GET /staff/check/ 200") == "GET /staff/check/ 200"
    assert redact("/static/js/room.js") == "/static/js/room.js"


# Guessing is limited


def test_a_stranger_guessing_links_is_held_off_after_thirty_a_minute(client, db):
    statuses = [client.get(link_url(f"{GUESS[:-2]}{n:02}")).status_code for n in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429


def test_the_held_off_stranger_is_told_what_to_do_in_german(client, db, settings):
    settings.LINK_LOOKUP_LIMIT = "1/minute"
    client.get(link_url(GUESS))
    response = client.get(link_url(GUESS))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == 60
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in response.headers
    page = response.content.decode()
    assert '<html lang="de"' in page
    assert "Bitte warten Sie eine Minute" in page
    assert "Einladungs-E-Mail" in page


def test_the_held_off_stranger_reads_it_in_english_if_the_browser_asks(client, db, settings):
    settings.LINK_LOOKUP_LIMIT = "1/minute"
    client.get(link_url(GUESS))
    response = client.get(link_url(GUESS), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    page = response.content.decode()
    assert '<html lang="en"' in page
    assert "Please wait a minute" in page
    assert "whole link" in page


def test_even_danas_valid_link_counts_so_nothing_is_learnt_from_being_let_through(
    client, booking, settings
):
    settings.LINK_LOOKUP_LIMIT = "1/minute"
    client.get(link_url(GUESS))
    assert client.get(link_url(booking.token)).status_code == 429


def test_dana_opens_her_link_from_her_own_address_while_a_stranger_is_held_off(booking, settings):
    settings.LINK_LOOKUP_LIMIT = "2/minute"
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    assert [stranger.get(link_url(GUESS)).status_code for _ in range(3)] == [404, 404, 429]
    dana = Client(REMOTE_ADDR="198.51.100.20")
    response = dana.get(link_url(booking.token))
    assert response.status_code == 302
    assert response.url == reverse("journey:start", args=[booking.citizen.public_id])


def test_guessing_spread_over_many_addresses_meets_the_overall_ceiling(db, settings):
    settings.LINK_LOOKUP_GLOBAL_LIMIT = "3/minute"
    statuses = [
        Client(REMOTE_ADDR=f"203.0.113.{n}").get(link_url(GUESS)).status_code for n in range(1, 5)
    ]
    assert statuses == [404, 404, 404, 429]


# The error pages of links pass their address on to nobody


def referrer_metas(page: str) -> list[str]:
    return re.findall(r'<meta name="referrer" content="([^"]*)">', page)


@pytest.mark.parametrize("end", ["unknown", "cancelled", "expired", "removed"])
def test_a_links_error_page_sends_no_referrer_and_no_meta_overrides_it(
    client, interpreter_booking, counselor, end
):
    olga, token = interpreter_booking.extras[0]
    appointment = interpreter_booking.appointment
    if end == "unknown":
        token = GUESS
    elif end == "cancelled":
        appointments.cancel_appointment(appointment, by=counselor)
    elif end == "expired":
        Appointment.objects.filter(pk=appointment.pk).update(
            starts_at=timezone.now() - timedelta(hours=2)
        )
    else:
        appointments.remove_member(olga, by=counselor)
    response = client.get(link_url(token))
    assert response.status_code in (404, 410)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert referrer_metas(response.content.decode()) == ["no-referrer"]


def test_a_link_that_ends_while_dana_is_on_her_pages_passes_on_nothing_either(
    client, booking, counselor
):
    client.get(link_url(booking.token))
    appointments.cancel_appointment(booking.appointment, by=counselor)
    response = client.get(reverse("journey:start", args=[booking.citizen.public_id]))
    assert response.status_code == 410
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert referrer_metas(response.content.decode()) == ["no-referrer"]


def test_other_pages_keep_the_same_origin_referrer_their_forms_need(client, booking):
    client.get(link_url(booking.token))
    response = client.get(reverse("journey:start", args=[booking.citizen.public_id]))
    assert referrer_metas(response.content.decode()) == ["same-origin"]


@pytest.mark.parametrize("attempts", [1, 2])
def test_a_links_error_page_takes_the_token_out_of_the_address_bar(client, db, settings, attempts):
    settings.LINK_LOOKUP_LIMIT = "1/minute"
    for _ in range(attempts):
        response = client.get(link_url(GUESS))
    assert response.status_code == (404 if attempts == 1 else 429)
    assert re.search(r'<script src="[^"]*/forget-link\.js"></script>', response.content.decode())
    script = Path(finders.find("videotermin/js/forget-link.js")).read_text()
    assert 'history.replaceState(null, "", "/")' in script


def test_a_pages_error_without_a_token_in_its_address_leaves_the_address_alone(
    client, booking, counselor
):
    client.get(link_url(booking.token))
    appointments.cancel_appointment(booking.appointment, by=counselor)
    response = client.get(reverse("journey:start", args=[booking.citizen.public_id]))
    assert "forget-link.js" not in response.content.decode()
