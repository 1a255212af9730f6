"""The agency administration: only an agency's administrators reach it, only for their own
agency; every change is audited."""

import json
import re
from datetime import datetime, timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.personas import PASSWORD, make_staff

from videotermin.administration import accounts, locations
from videotermin.administration.rules import NotAllowed
from videotermin.agencies.models import Location, StaffMember
from videotermin.appointments import services as appointment_services
from videotermin.audit.models import AuditEntry
from videotermin.signin import services as signin

pytestmark = pytest.mark.django_db


def test_a_counselor_finds_no_way_into_the_administration(client, counselor):
    client.force_login(counselor)
    assert reverse("administration:index") not in client.get(reverse("staff:day")).text
    assert client.get(reverse("administration:settings")).status_code == 403
    assert client.post(reverse("administration:settings"), {"name": "x"}).status_code == 403


def test_an_administrator_is_led_there_from_the_workspace(admin_client):
    page = admin_client.get(reverse("staff:day")).text
    assert reverse("administration:index") in page


def test_the_administrator_shortens_the_retention_and_the_change_is_audited(
    admin_client, admin_user, agency
):
    form = admin_client.get(reverse("administration:settings")).context["form"]
    values = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    values.update(retention_days="7", reminder_hours="2, 48", require_second_factor="on")
    response = admin_client.post(reverse("administration:settings"), values)
    assert response.status_code == 302, response.context["form"].errors
    agency.refresh_from_db()
    assert (agency.retention_days, agency.reminder_hours) == (7, [48, 2])
    assert agency.require_second_factor
    entry = AuditEntry.objects.get(action="videotermin.agency.settings_changed")
    assert entry.actor == admin_user
    assert entry.data["fields"] == ["reminder_hours", "require_second_factor", "retention_days"]


def test_more_days_than_the_consent_text_promises_are_refused(admin_client, agency):
    form = admin_client.get(reverse("administration:settings")).context["form"]
    values = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    values.update(retention_days="15", reminder_hours="24")
    response = admin_client.post(reverse("administration:settings"), values)
    assert response.status_code == 200
    assert "retention_days" in response.context["form"].errors
    agency.refresh_from_db()
    assert agency.retention_days == 14
    assert not AuditEntry.objects.filter(action="videotermin.agency.settings_changed").exists()


# Locations and staff accounts

NEW_PASSWORD = "Kranich-Fenster-Ostwind-42"


@pytest.fixture
def second_admin(agency, location):
    """Max, a second administrator of the agency."""
    user = make_staff(agency, location, "max", "Max Vogel")
    StaffMember.objects.filter(user=user).update(role=StaffMember.Role.ADMIN)
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def other_admin(other_agency, outsider):
    """Charlie's agency's administrator, Cora."""
    user = make_staff(other_agency, outsider.staff.location, "cora", "Cora Lenz")
    StaffMember.objects.filter(user=user).update(role=StaffMember.Role.ADMIN)
    return user


def sign_in(username: str, password: str) -> Client:
    client = Client()
    response = client.post(reverse("staff:login"), {"username": username, "password": password})
    assert response.status_code == 302, "the sign-in should have succeeded"
    return client


def refused_sign_in(username: str, password: str) -> bool:
    client = Client()
    client.post(reverse("staff:login"), {"username": username, "password": password})
    return client.get(reverse("staff:day")).status_code == 302


def invitation_link_in(message) -> str:
    return re.search(r"https?://\S+/staff/agency/invitation/\S+/", message.body).group(0)


def path_of(link: str) -> str:
    return urlsplit(link).path


def invite(admin_client, capture, **changes):
    data = {
        "first_name": "Nora",
        "last_name": "Neumann",
        "email": "Nora.Neumann@musterstadt.example",
        "role": "counselor",
        "location": "",
        "language": "de",
        **changes,
    }
    with capture(execute=True):
        response = admin_client.post(reverse("administration:staff_invite"), data)
    assert response.status_code == 302, response.context["form"].errors
    return StaffMember.objects.select_related("user").get(user__email__iexact=data["email"])


def administration_entries():
    """The entries of the administration's changes (sign-ins write entries of their own)."""
    return AuditEntry.objects.filter(action__regex=r"^videotermin\.(agency|staff)\.").order_by("pk")


def assert_no_personal_data_in_the_audit():
    personal = ("Nora", "Neumann", "nora", "Alice", "alice@", "Ada", "Bob", "Dana", "@")
    for entry in administration_entries():
        text = json.dumps(entry.data)
        assert not any(word in text for word in personal), (entry.action, text)


def new_location_urls(location, staff):
    """Every address of the two new sections that names a location or a staff member."""
    return [
        ("get", reverse("administration:location", args=[location.public_id])),
        ("post", reverse("administration:location", args=[location.public_id])),
        ("post", reverse("administration:location_close", args=[location.public_id])),
        ("post", reverse("administration:location_reopen", args=[location.public_id])),
        ("get", reverse("administration:location_remove", args=[location.public_id])),
        ("post", reverse("administration:location_remove", args=[location.public_id])),
        ("get", reverse("administration:staff_member", args=[staff.public_id])),
        ("post", reverse("administration:staff_member", args=[staff.public_id])),
        ("post", reverse("administration:staff_resend", args=[staff.public_id])),
        ("get", reverse("administration:staff_deactivate", args=[staff.public_id])),
        ("post", reverse("administration:staff_deactivate", args=[staff.public_id])),
        ("post", reverse("administration:staff_reactivate", args=[staff.public_id])),
    ]


def test_a_counselor_is_refused_every_page_of_locations_and_staff(client, counselor, location):
    client.force_login(counselor)
    urls = new_location_urls(location, counselor.staff) + [
        ("get", reverse("administration:locations")),
        ("get", reverse("administration:location_add")),
        ("post", reverse("administration:location_add")),
        ("get", reverse("administration:staff")),
        ("get", reverse("administration:staff_invite")),
        ("post", reverse("administration:staff_invite")),
    ]
    for method, url in urls:
        assert getattr(client, method)(url, {"name": "x"}).status_code == 403, (method, url)
    counselor.staff.refresh_from_db()
    assert counselor.is_active and not counselor.staff.is_admin
    assert Location.objects.filter(pk=location.pk, active=True).exists()
    assert not administration_entries().exists()


def test_another_agencys_locations_and_staff_do_not_exist_for_an_administrator(
    admin_client, outsider, other_admin
):
    foreign_location = outsider.staff.location
    for method, url in new_location_urls(foreign_location, outsider.staff):
        response = getattr(admin_client, method)(url, {"name": "x", "role": "admin"})
        assert response.status_code == 404, (method, url)
    foreign_location.refresh_from_db()
    outsider.refresh_from_db()
    assert (foreign_location.name, foreign_location.active, outsider.is_active) == (
        "Anderswo",
        True,
        True,
    )
    staff_page = admin_client.get(reverse("administration:staff")).text
    locations_page = admin_client.get(reverse("administration:locations")).text
    assert "Charlie" not in staff_page and "Cora" not in staff_page
    assert "Anderswo" not in locations_page
    assert not administration_entries().exists()


def test_the_administrator_adds_and_renames_a_location_and_both_are_audited(
    admin_client, admin_user, agency
):
    response = admin_client.post(
        reverse("administration:location_add"), {"name": "Musterstadt Nord", "address": "Ring 5"}
    )
    assert response.status_code == 302
    north = agency.locations.get(name="Musterstadt Nord")
    assert north.active and north.address == "Ring 5"
    response = admin_client.post(
        reverse("administration:location", args=[north.public_id]),
        {"name": "Musterstadt Nordost", "address": "Ring 5"},
    )
    assert response.status_code == 302
    north.refresh_from_db()
    assert north.name == "Musterstadt Nordost"
    added, changed = administration_entries()
    assert (added.action, added.actor, added.data) == (
        "videotermin.agency.location_added",
        admin_user,
        {"location": str(north.public_id)},
    )
    assert changed.action == "videotermin.agency.location_changed"
    assert changed.data == {"location": str(north.public_id), "fields": ["name"]}
    page = admin_client.get(reverse("administration:locations")).text
    assert "Musterstadt Nordost" in page and "Standorte" in page


def test_a_second_location_of_the_same_name_is_refused(admin_client, agency, location):
    response = admin_client.post(
        reverse("administration:location_add"), {"name": "musterstadt mitte", "address": ""}
    )
    assert response.status_code == 200
    assert "Die Dienststelle hat schon einen Standort dieses Namens." in response.text
    assert agency.locations.count() == 1


def test_a_location_with_appointments_is_closed_for_booking_instead_of_removed(
    admin_client, agency, location, appointment, counselor
):
    north = Location.objects.create(agency=agency, name="Musterstadt Nord")
    remove = reverse("administration:location_remove", args=[location.public_id])
    assert "Termine" in admin_client.get(remove).text
    admin_client.post(remove)
    assert Location.objects.filter(pk=location.pk).exists()
    assert not AuditEntry.objects.filter(action="videotermin.agency.location_removed").exists()

    admin_client.post(reverse("administration:location_close", args=[location.public_id]))
    location.refresh_from_db()
    assert not location.active
    # Counselors book only at open locations; the appointment already there keeps its own.
    counselor_client = Client()
    counselor_client.force_login(counselor)
    offered = counselor_client.get(reverse("staff:create")).context["form"]["location"]
    assert [choice for choice, _label in offered.field.choices if choice] == [north.pk]
    editing = counselor_client.get(reverse("staff:edit", args=[appointment.public_id]))
    kept = editing.context["form"].fields["location"].queryset
    assert set(kept) == {location, north}
    with pytest.raises(appointment_services.NotAllowed):
        appointment_services.create_appointment(
            by=counselor,
            location=location,
            starts_at=timezone.now() + timedelta(hours=1),
            citizen=appointment_services.Invitee(name="Eva", email="eva@example.org"),
        )
    appointment.refresh_from_db()
    assert appointment.location == location

    admin_client.post(reverse("administration:location_reopen", args=[location.public_id]))
    location.refresh_from_db()
    assert location.active
    actions = list(administration_entries().values_list("action", flat=True))
    assert actions[-2:] == [
        "videotermin.agency.location_closed",
        "videotermin.agency.location_reopened",
    ]


def test_a_location_nothing_refers_to_is_removed(admin_client, admin_user, agency, location):
    north = Location.objects.create(agency=agency, name="Musterstadt Nord")
    remove = reverse("administration:location_remove", args=[north.public_id])
    assert "Möchten Sie diesen Standort wirklich entfernen?" in admin_client.get(remove).text
    assert admin_client.post(remove).status_code == 302
    assert not Location.objects.filter(pk=north.pk).exists()
    entry = AuditEntry.objects.get(action="videotermin.agency.location_removed")
    assert (entry.actor, entry.data) == (admin_user, {"location": str(north.public_id)})


def test_a_staff_members_usual_location_is_not_removed(admin_client, agency, location):
    # Ada's usual location is Musterstadt Mitte, and there is another open one.
    Location.objects.create(agency=agency, name="Musterstadt Nord")
    admin_client.post(reverse("administration:location_remove", args=[location.public_id]))
    assert Location.objects.filter(pk=location.pk).exists()


def test_the_last_open_location_stays_open(admin_client, admin_user, agency, location):
    response = admin_client.post(
        reverse("administration:location_close", args=[location.public_id]), follow=True
    )
    assert "letzte Standort" in response.text
    location.refresh_from_db()
    assert location.active
    with pytest.raises(NotAllowed):
        locations.close_location(location, by=admin_user)


def test_the_staff_list_shows_role_location_account_and_second_factor(
    admin_client, admin_user, counselor, agency
):
    counselor.is_active = False
    counselor.save()
    page = admin_client.get(reverse("administration:staff"))
    rows = {row["staff"].user.username: row for row in page.context["rows"]}
    assert set(rows) == {"ada", "alice"}
    assert rows["alice"]["status"] == "deaktiviert" and rows["ada"]["status"] == "aktiv"
    assert not rows["ada"]["second_factor"]
    assert "Administratorin/Administrator" in page.text and "Musterstadt Mitte" in page.text
    assert "Zweiter Faktor" in page.text


def test_only_an_authenticator_app_or_a_security_key_counts_as_a_second_factor(
    admin_user, counselor
):
    assert not signin.has_second_factor(admin_user)
    Authenticator.objects.create(user=counselor, type="recovery_codes", data={})
    assert not signin.has_second_factor(counselor), "recovery codes alone are no factor"
    Authenticator.objects.create(user=admin_user, type="totp", data={})
    assert signin.has_second_factor(admin_user)
    assert signin.users_with_second_factor([admin_user.pk, counselor.pk]) == {admin_user.pk}


def test_an_invited_person_sets_a_password_once_and_then_signs_in(
    admin_client, admin_user, agency, location, django_capture_on_commit_callbacks
):
    nora = invite(
        admin_client,
        django_capture_on_commit_callbacks,
        role="admin",
        location=str(location.pk),
        language="en",
    )
    user = nora.user
    assert (user.username, nora.role, nora.location, nora.language) == (
        "nora.neumann@musterstadt.example",
        "admin",
        location,
        "en",
    )
    assert not user.has_usable_password() and user.is_active
    [message] = mail.outbox
    assert message.to == ["Nora.Neumann@musterstadt.example"]
    assert message.subject == (
        "Your account in the staff workspace of Agentur für Arbeit Musterstadt"
    )
    assert "as administrator" in message.body
    link = invitation_link_in(message)
    assert link in message.alternatives[0][0]

    visitor = Client()
    page = visitor.get(path_of(link))
    assert page.status_code == 200
    assert "Agentur für Arbeit Musterstadt" in page.text and "Choose your password" in page.text
    weak = visitor.post(path_of(link), {"new_password1": "12345", "new_password2": "12345"})
    assert weak.status_code == 200 and weak.context["form"].errors
    response = visitor.post(
        path_of(link), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("staff:login")
    assert visitor.get(path_of(link)).status_code == 410, "the link works once"
    again = visitor.post(path_of(link), {"new_password1": "x" * 20, "new_password2": "x" * 20})
    assert again.status_code == 410

    signed_in = sign_in("nora.neumann@musterstadt.example", NEW_PASSWORD)
    assert signed_in.get(reverse("administration:staff")).status_code == 200
    invited, accepted = administration_entries()
    assert (invited.action, invited.actor) == ("videotermin.staff.invited", admin_user)
    assert invited.data == {
        "staff": f"staff:{user.pk}",
        "role": "admin",
        "location": str(location.public_id),
    }
    assert (accepted.action, accepted.actor_ref) == (
        "videotermin.staff.invitation_accepted",
        f"staff:{user.pk}",
    )
    assert_no_personal_data_in_the_audit()


def test_an_invitation_link_expires_after_72_hours(
    admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    invite(admin_client, django_capture_on_commit_callbacks)
    link = path_of(invitation_link_in(mail.outbox[0]))
    now = datetime.now()  # the token generator's clock is naive
    monkeypatch.setattr(accounts.InvitationTokens, "_now", lambda self: now + timedelta(hours=71))
    assert Client().get(link).status_code == 200
    monkeypatch.setattr(accounts.InvitationTokens, "_now", lambda self: now + timedelta(hours=73))
    response = Client().get(link)
    assert response.status_code == 410
    assert "Dieser Einladungslink gilt nicht mehr" in response.text
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert Client().post(link, data).status_code == 410
    assert not get_user_model().objects.get(username__startswith="nora").has_usable_password()


def test_a_forged_or_foreign_invitation_link_sets_nothing(
    admin_client, django_capture_on_commit_callbacks, counselor
):
    nora = invite(admin_client, django_capture_on_commit_callbacks)
    link = path_of(invitation_link_in(mail.outbox[0]))
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = reverse("administration:invitation", args=[nora.public_id, token[:-2] + "xx"])
    assert Client().get(forged).status_code == 410
    # Nora's token does not open Alice's account.
    foreign = reverse("administration:invitation", args=[counselor.staff.public_id, token])
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert Client().post(foreign, data).status_code == 410
    counselor.refresh_from_db()
    assert counselor.check_password(PASSWORD)


def test_sending_the_invitation_again_replaces_the_earlier_link(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    nora = invite(admin_client, django_capture_on_commit_callbacks, language="de")
    first = path_of(invitation_link_in(mail.outbox[0]))
    assert "Wählen Sie hier Ihr Passwort" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("administration:staff_resend", args=[nora.public_id]))
    second = path_of(invitation_link_in(mail.outbox[1]))
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 200
    entry = AuditEntry.objects.get(action="videotermin.staff.invitation_resent")
    assert (entry.actor, entry.data) == (admin_user, {"staff": f"staff:{nora.user_id}"})

    # Once the password is chosen, there is no invitation left to send.
    Client().post(second, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("administration:staff_resend", args=[nora.public_id]))
    assert len(mail.outbox) == 2


def test_an_address_with_an_account_is_not_invited_twice(
    admin_client, counselor, django_capture_on_commit_callbacks
):
    counselor.email = "alice@musterstadt.example"
    counselor.save()
    data = {
        "first_name": "Alice",
        "last_name": "Again",
        "email": "ALICE@musterstadt.example",
        "role": "counselor",
        "language": "de",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("administration:staff_invite"), data)
    assert response.status_code == 200
    assert "Es gibt schon ein Konto mit dieser E-Mail-Adresse." in response.text
    assert not mail.outbox
    assert get_user_model().objects.count() == 2


def test_deactivating_ends_the_open_sessions_and_blocks_the_sign_in(
    admin_client, admin_user, counselor, book
):
    alice = sign_in("alice", PASSWORD)
    assert alice.get(reverse("staff:day")).status_code == 200
    later = book(starts_in=timedelta(days=2)).appointment
    book(starts_in=timedelta(days=3))
    cancelled = book(starts_in=timedelta(days=4)).appointment
    appointment_services.cancel_appointment(cancelled, by=counselor)

    page = admin_client.get(
        reverse("administration:staff_deactivate", args=[counselor.staff.public_id])
    )
    assert "2 Termine" in page.text
    response = admin_client.post(
        reverse("administration:staff_deactivate", args=[counselor.staff.public_id]), follow=True
    )
    counselor.refresh_from_db()
    assert not counselor.is_active
    shown = [str(m) for m in response.context["messages"]]
    assert any("2 Termine" in text for text in shown), shown
    assert later.starts_at and later.counselor_id == counselor.pk
    assert alice.get(reverse("staff:day")).status_code == 302, "her open session has ended"
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(counselor.pk) for s in Session.objects.all()
    )
    assert refused_sign_in("alice", PASSWORD)
    assert admin_client.get(reverse("staff:day")).status_code == 200, "others stay signed in"
    entry = AuditEntry.objects.get(action="videotermin.staff.deactivated")
    assert (entry.actor, entry.data) == (
        admin_user,
        {"staff": f"staff:{counselor.pk}", "sessions_ended": 1, "future_appointments": 2},
    )

    admin_client.post(reverse("administration:staff_reactivate", args=[counselor.staff.public_id]))
    counselor.refresh_from_db()
    assert counselor.is_active
    assert sign_in("alice", PASSWORD).get(reverse("staff:day")).status_code == 200
    assert AuditEntry.objects.filter(action="videotermin.staff.reactivated").exists()
    assert_no_personal_data_in_the_audit()


def test_an_administrator_can_neither_deactivate_nor_demote_themselves(
    admin_client, admin_user, second_admin
):
    own = admin_user.staff.public_id
    admin_client.post(reverse("administration:staff_deactivate", args=[own]))
    response = admin_client.post(
        reverse("administration:staff_member", args=[own]), {"role": "counselor", "location": ""}
    )
    assert "Sie können sich die Rolle als Administratorin/Administrator nicht selbst nehmen." in (
        response.text
    )
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.staff.is_admin
    assert not administration_entries().exists()


def test_the_last_active_administrator_stays_one(admin_user, second_admin, counselor):
    second_admin.is_active = False
    second_admin.save()
    ada = admin_user.staff
    # A command acts as nobody, so only the last-administrator rule holds it back.
    with pytest.raises(NotAllowed):
        accounts.deactivate(ada, by=None)
    with pytest.raises(NotAllowed):
        accounts.change(ada, by=None, role="counselor", location=None)
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.staff.is_admin
    # With Max active again, Max may demote Ada.
    accounts.reactivate(second_admin.staff, by=admin_user)
    second_admin.refresh_from_db()
    accounts.change(ada, by=second_admin, role="counselor", location=ada.location)
    ada.refresh_from_db()
    assert not ada.is_admin
    entry = AuditEntry.objects.get(action="videotermin.staff.changed")
    assert entry.data == {
        "staff": f"staff:{admin_user.pk}",
        "fields": ["role"],
        "role": "counselor",
    }


def test_the_administrator_makes_a_counselor_an_administrator(admin_client, counselor, location):
    response = admin_client.post(
        reverse("administration:staff_member", args=[counselor.staff.public_id]),
        {"role": "admin", "location": str(location.pk)},
    )
    assert response.status_code == 302
    counselor.staff.refresh_from_db()
    assert counselor.staff.is_admin
    client = Client()
    client.force_login(counselor)
    assert client.get(reverse("administration:staff")).status_code == 200


def test_the_demo_prints_an_administrators_sign_in_that_works(db):
    for _ in range(2):
        out = StringIO()
        call_command("demo", stdout=out)
    printed = out.getvalue()
    block = printed.split("Administrator (staff workspace and agency administration)")[1]
    username = re.search(r"username:\s+(\S+)", block).group(1)
    password = re.search(r"password:\s+(\S+)", block).group(1)
    admin = sign_in(username, password)
    assert admin.get(reverse("administration:staff")).status_code == 200


def test_a_new_agency_gets_its_first_administrator_from_the_command_line(
    db, django_capture_on_commit_callbacks
):
    call_command(
        "createagency",
        "neustadt",
        "Jobcenter Neustadt",
        location="Neustadt Mitte",
        stdout=StringIO(),
    )
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "addstaff",
            "neustadt",
            "leitung@neustadt.example",
            first_name="Lea",
            last_name="Leitner",
            admin=True,
            print_link=True,
            stdout=out,
        )
    staff = StaffMember.objects.get(agency__slug="neustadt")
    assert staff.is_admin and staff.agency.locations.get().name == "Neustadt Mitte"
    [message] = mail.outbox
    assert message.to == ["leitung@neustadt.example"]
    printed_link = re.search(r"Set-password link: (\S+)", out.getvalue()).group(1)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert Client().post(path_of(printed_link), data).status_code == 302
    assert sign_in("leitung@neustadt.example", NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="videotermin.staff.invited", actor=None).exists()
