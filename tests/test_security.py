"""Security headers on every page and forms that need their CSRF token (production settings:
test_security_settings.py)."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from tests.personas import agree

from videotermin.appointments import services


def test_every_page_sends_a_strict_content_security_policy(client, db):
    response = client.get("/staff/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy


def test_only_the_site_itself_may_use_camera_microphone_and_screen(client, db):
    policy = client.get("/staff/login/").headers["Permissions-Policy"]
    assert "camera=(self)" in policy
    assert "microphone=(self)" in policy
    assert "display-capture=(self)" in policy


def test_the_personal_link_is_never_sent_as_referrer(client, booking):
    response = client.get(f"/j/{booking.token}/")
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("change", ["removed", "replaced"])
def test_an_ended_personal_link_is_never_sent_as_referrer_either(
    client, interpreter_booking, counselor, change
):
    olga, token = interpreter_booking.extras[0]
    if change == "removed":
        services.remove_member(olga, by=counselor)
    else:
        services.update_member(olga, by=counselor, email="olga.k@example.org")
    response = client.get(f"/j/{token}/")
    assert response.status_code == 410
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_room_pages_run_no_inline_script(client, booking, counselor):
    agree(booking.citizen)
    client.get(f"/j/{booking.token}/")
    citizen_page = client.get(reverse("journey:room", args=[booking.citizen.public_id]))
    staff = Client()
    staff.force_login(counselor)
    staff_page = staff.get(reverse("staff:room", args=[booking.appointment.public_id]))
    for response in (citizen_page, staff_page):
        assert response.status_code == 200
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
        assert not re.search(r"\son[a-z]+=", html), "an inline event handler"


def test_the_people_pages_need_the_csrf_token(interpreter_booking, counselor, mailoutbox):
    olga, _token = interpreter_booking.extras[0]
    appointment = interpreter_booking.appointment
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(counselor)
    ids = [appointment.public_id, olga.public_id]
    attempts = [
        (
            reverse("staff:people", args=ids[:1]),
            {"role": "guardian", "name": "Eve", "email": "eve@example.org", "language": "de"},
        ),
        (
            reverse("staff:edit_member", args=ids),
            {"name": "Olga", "email": "eve@example.org", "language": "de"},
        ),
        (reverse("staff:remove_member", args=ids), {}),
        (reverse("staff:resend_member", args=ids), {}),
    ]
    for url, data in attempts:
        assert browser.post(url, data, HTTP_ACCEPT="application/json").status_code == 403, url
    olga.refresh_from_db()
    assert (olga.email, olga.removed_at) == ("olga@example.org", None)
    assert appointment.members.count() == 3
    assert mailoutbox == []


def test_other_sites_never_get_a_referrer(client, db):
    # "same-origin" elsewhere: "no-referrer" makes browsers send "Origin: null" on form posts,
    # which the CSRF check must refuse.
    assert client.get("/staff/login/").headers["Referrer-Policy"] == "same-origin"
