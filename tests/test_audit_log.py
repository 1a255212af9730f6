"""The audit log an administrator reads: who did what when with which appointment, in the
agency's time zone, filtered, paged and exported as CSV; only their own agency's entries; people
invited by link only by role and pseudonym, before and after the deletion."""

import csv
import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone
from tests.personas import PASSWORD, agree, make_staff

from videotermin.agencies.models import StaffMember
from videotermin.audit import actions
from videotermin.audit.models import AuditEntry
from videotermin.audit.services import record
from videotermin.privacy.services import purge

pytestmark = pytest.mark.django_db

LOG = "administration:audit"
EXPORT = "administration:audit_export"
BERLIN = ZoneInfo("Europe/Berlin")
ADDRESS = "203.0.113.91"


@pytest.fixture
def ada(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def other_admin(other_agency, outsider):
    """Charlie administers the other agency."""
    StaffMember.objects.filter(user=outsider).update(role=StaffMember.Role.ADMIN)
    return outsider


def sign_in(client: Client, username: str, password: str):
    """The sign-in form, by allauth's field name and by Django's."""
    return client.post(
        reverse("staff:login"), {"login": username, "username": username, "password": password}
    )


def entry_at(action: str, when: datetime, *, agency, by=None, appointment=None, **data):
    """An entry as if written at `when` (the field is set on creation)."""
    entry = record(action, agency=agency, by=by, appointment=appointment, **data)
    AuditEntry.objects.filter(pk=entry.pk).update(at=when)
    entry.refresh_from_db()
    return entry


def shown(response) -> list[str]:
    """The actions of the rows on the page, top to bottom."""
    return re.findall(r'<tr data-action="([^"]+)"', response.content.decode())


def row_of(response, action: str) -> str:
    """The first row of the page with this action, as HTML."""
    found = re.search(
        rf'<tr data-action="{re.escape(action)}">.*?</tr>', response.content.decode(), re.S
    )
    assert found, f"no row {action}"
    return found.group(0)


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# Who may read it


def test_a_counselor_gets_neither_the_log_nor_the_export(client, counselor):
    client.force_login(counselor)
    assert client.get(reverse(LOG)).status_code == 403
    assert client.get(reverse(EXPORT)).status_code == 403
    assert not AuditEntry.objects.filter(action="videotermin.audit.exported").exists()


def test_the_administration_leads_to_the_audit_log(ada):
    page = ada.get(reverse("administration:settings")).content.decode()
    assert reverse(LOG) in page
    assert "Protokoll" in page


def test_another_agencys_entries_never_appear_on_the_page_or_in_the_csv(
    ada, agency, book, other_admin, other_agency
):
    book()
    Client().force_login(other_admin)  # Charlie signs in at his agency
    theirs = entry_at(
        "appointment.cancelled", timezone.now(), agency=other_agency, by=other_admin, hours=1
    )
    theirs.appointment_ref = "feedface-0000-4000-8000-000000000000"
    theirs.save()
    assert AuditEntry.objects.filter(agency=other_agency).count() == 2

    page = ada.get(reverse(LOG)).content.decode()
    assert "appointment.created" in page and "Charlie" not in page and "feedface" not in page
    assert f"staff:{other_admin.pk}" not in page
    # Filtering by Charlie is refused, not answered with his entries.
    filtered = ada.get(reverse(LOG), {"actor": other_admin.pk})
    assert "actor" in filtered.context["form"].errors
    assert "Charlie" not in filtered.content.decode()

    header, *rows = csv_rows(ada.get(reverse(EXPORT)))
    text = json.dumps(rows)
    assert "Charlie" not in text and "feedface" not in text
    assert f"staff:{other_admin.pk}" not in text
    # Every entry of Ada's agency but her export's own.
    assert len(rows) == AuditEntry.objects.filter(agency=agency).count() - 1


# What it shows


def test_an_entry_says_when_who_what_and_which_appointment_in_german(ada, book, counselor):
    appointment = book().appointment
    entry = AuditEntry.objects.get(action="videotermin.appointment.created")
    summer = datetime(2026, 7, 1, 6, 5, 9, tzinfo=ZoneInfo("UTC"))
    AuditEntry.objects.filter(pk=entry.pk).update(at=summer)
    response = ada.get(reverse(LOG))
    page, row = response.content.decode(), row_of(response, "appointment.created")
    assert "Protokoll" in page
    assert "Termin gebucht" in row
    assert "Alice Berger" in row
    # 06:05 UTC is 08:05 in Berlin in summer.
    assert "08:05:09" in row and "Europe/Berlin" in page
    people = reverse("staff:people", args=[appointment.public_id])
    assert f'href="{people}"' in row
    # The citizen by role and pseudonym, never by name.
    assert "Kundin/Kunde (member:" in row
    assert "Dana" not in page and "dana@example.org" not in page


def test_the_page_is_english_for_an_english_browser(ada, book):
    book()
    page = ada.get(reverse(LOG), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Audit log" in page and "Appointment booked" in page


def test_a_participant_keeps_role_and_pseudonym_after_the_deletion(client, admin_user, book):
    booking = book()
    citizen = agree(booking.citizen)
    appointment = booking.appointment
    purge(now=appointment.ends_at + timedelta(days=15))

    client.force_login(admin_user)
    page = client.get(reverse(LOG), {"action": "consent.accepted"}).content.decode()
    assert "Einwilligung erteilt" in page
    assert f"Kundin/Kunde (member:{str(citizen.public_id)[:8]})" in page
    assert "Dana" not in page
    # The appointment is gone: its reference stays, without a link.
    assert str(appointment.public_id)[:8] in page
    assert reverse("staff:people", args=[appointment.public_id]) not in page
    assert "gelöscht" in page


def test_a_deleted_account_is_named_by_its_pseudonym(ada, agency, location):
    gone = make_staff(agency, location, "gerd", "Gerd Gone")
    record("agency.settings_changed", agency=agency, by=gone, fields=["time_zone"])
    pk = gone.pk
    gone.delete()
    page = ada.get(reverse(LOG)).content.decode()
    assert f"gelöschtes Konto (staff:{pk})" in page
    assert "Einstellungen der Dienststelle geändert" in page
    assert "Zeitzone" in page and "time_zone" not in page


def test_an_action_nobody_labelled_still_shows_by_its_name(ada, agency):
    record("locations.teleported", agency=agency, to="moon")
    page = ada.get(reverse(LOG)).content.decode()
    assert "locations.teleported" in page
    assert "moon" in page


def test_every_action_the_code_records_has_a_label():
    source = Path(__file__).resolve().parent.parent / "src" / "videotermin"
    # The action is what a record() call says before its agency.
    call = re.compile(r"\brecord\(([^()]*?)\bagency=", re.S)
    named = set()
    for path in source.rglob("*.py"):
        for first in call.findall(path.read_text(encoding="utf-8")):
            named.update(re.findall(r'"([a-z_]+\.[a-z_]+)"', first))
    assert {"appointment.created", "consent.accepted", "consent.declined"} <= named
    assert named - set(actions.ACTIONS) == set()
    for name in (
        "signin.second_factor_added",
        "signin.second_factor_removed",
        "consent.text_published",
    ):
        assert name in actions.ACTIONS


# Filters and pages


def test_filters_narrow_by_period_action_actor_and_reference(
    ada, agency, counselor, colleague, book
):
    appointment = book().appointment
    AuditEntry.objects.all().delete()
    day = datetime(2026, 3, 10, 12, tzinfo=BERLIN)
    entry_at("auth.signed_in", day - timedelta(days=1), agency=agency, by=counselor)
    entry_at("auth.signed_in", day, agency=agency, by=colleague)
    entry_at("appointment.cancelled", day, agency=agency, by=counselor, appointment=appointment)
    # 23:30 in Berlin on the 10th is the 11th in UTC: the day is the agency's.
    entry_at("auth.signed_out", day.replace(hour=23, minute=30), agency=agency, by=colleague)
    entry_at("auth.signed_out", day + timedelta(days=1), agency=agency, by=counselor)

    def actions_for(**query) -> list[str]:
        return shown(ada.get(reverse(LOG), query))

    assert actions_for(start="2026-03-10", end="2026-03-10") == [
        "auth.signed_out",
        "appointment.cancelled",
        "auth.signed_in",
    ]
    assert actions_for(action="auth.signed_in") == ["auth.signed_in", "auth.signed_in"]
    assert actions_for(actor=colleague.pk) == ["auth.signed_out", "auth.signed_in"]
    assert actions_for(appointment=str(appointment.public_id)[:8]) == ["appointment.cancelled"]
    assert actions_for(appointment=str(appointment.public_id).upper()) == ["appointment.cancelled"]
    assert actions_for(start="2026-03-11", actor=counselor.pk) == ["auth.signed_out"]


def test_wrong_filters_are_explained_and_left_out(ada, agency, counselor):
    record("auth.signed_in", agency=agency, by=counselor)
    response = ada.get(reverse(LOG), {"start": "2026-03-12", "end": "2026-03-01"})
    assert "end" in response.context["form"].errors
    response = ada.get(reverse(LOG), {"appointment": "x'; drop", "action": "nonsense"})
    errors = response.context["form"].errors
    assert "appointment" in errors and "action" in errors
    assert "auth.signed_in" in shown(response)


def test_the_action_filter_offers_the_actions_in_groups(ada):
    page = ada.get(reverse(LOG)).content.decode()
    assert '<optgroup label="Anmeldung und Sicherheit">' in page
    assert '<option value="auth.sign_in_failed">Anmeldung fehlgeschlagen</option>' in page


def test_fifty_entries_a_page_newest_first_and_the_filters_stay(ada, agency, counselor):
    AuditEntry.objects.all().delete()
    start = timezone.now() - timedelta(hours=2)
    for minute in range(51):
        entry_at("auth.signed_in", start + timedelta(minutes=minute), agency=agency, by=counselor)
    entry_at("auth.signed_out", start, agency=agency, by=counselor)
    first = ada.get(reverse(LOG), {"action": "auth.signed_in"})
    rows = first.context["rows"]
    assert len(rows) == 50
    assert rows[0]["at"] > rows[-1]["at"]
    assert rows[0]["at"] == start + timedelta(minutes=50)
    page = first.content.decode()
    assert "?action=auth.signed_in&amp;page=2" in page
    assert "Seite 1 von 2" in page
    second = ada.get(reverse(LOG), {"action": "auth.signed_in", "page": 2})
    assert [row["at"] for row in second.context["rows"]] == [start]


# CSV


def test_the_csv_has_a_bom_a_header_and_no_formulas(ada, agency, location):
    sneaky = make_staff(agency, location, "eve", "=HYPERLINK(evil) @Eve")
    sneaky.first_name = "=HYPERLINK(evil)"
    sneaky.last_name = ""
    sneaky.save()
    record("locations.teleported", agency=agency, by=sneaky, note="+1+2", other="-3", at="@x")
    response = ada.get(reverse(EXPORT))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    assert response.streaming
    header, *rows = csv_rows(response)
    assert header[:4] == ["Datum und Uhrzeit", "Wer", "Pseudonym", "Was"]
    row = next(r for r in rows if r[4] == "locations.teleported")
    assert row[1] == "'=HYPERLINK(evil)"
    for cell in (cell for r in rows for cell in r):
        assert not cell.startswith(("=", "+", "-", "@"))
    assert "+1+2" in row[6] and "+1+2" in row[7]


def test_the_csv_keeps_umlauts_and_the_full_reference(ada, agency, location, book):
    appointment = book().appointment
    joerg = make_staff(agency, location, "joerg", "Jörg Weiß")
    record("auth.signed_in", agency=agency, by=joerg)
    header, *rows = csv_rows(ada.get(reverse(EXPORT), HTTP_ACCEPT_LANGUAGE="de"))
    assert header[6] == "Einzelheiten"
    assert next(r for r in rows if r[2] == f"staff:{joerg.pk}")[1] == "Jörg Weiß"
    created = next(r for r in rows if r[4] == "appointment.created")
    assert created[5] == str(appointment.public_id)
    assert created[0].endswith(("+01:00", "+02:00"))
    assert "Kundin/Kunde" in created[6] and "Dana" not in json.dumps(rows)


def test_the_export_is_audited_with_its_filters(ada, admin_user, agency, counselor):
    record("auth.signed_in", agency=agency, by=counselor)
    response = ada.get(reverse(EXPORT), {"action": "auth.signed_in", "actor": counselor.pk})
    rows = csv_rows(response)
    entry = AuditEntry.objects.get(action="videotermin.audit.exported")
    assert entry.actor == admin_user
    assert entry.data == {
        "filters": {"action": "auth.signed_in", "actor": f"staff:{counselor.pk}"},
        "entries": 1,
    }
    assert len(rows) == 2
    row = row_of(ada.get(reverse(LOG), {"action": "audit.exported"}), "audit.exported")
    assert "Protokoll exportiert" in row and "Ada Richter" in row
    assert "Angemeldet" in row and "Alice Berger" in row


def test_under_asgi_the_csv_is_streamed_in_batches(admin_user, agency, counselor, monkeypatch):
    from videotermin.administration.views import audit

    monkeypatch.setattr(audit, "EXPORT_BATCH", 2)
    for _ in range(5):
        record("auth.signed_in", agency=agency, by=counselor)

    async def scenario():
        client = AsyncClient()
        await client.aforce_login(admin_user)
        response = await client.get(reverse(EXPORT))
        assert response.is_async
        return [chunk async for chunk in response.streaming_content]

    chunks = async_to_sync(scenario)()
    # The header, three batches of entries (five sign-ins and Ada's own), nothing buffered whole.
    assert len(chunks) == 4
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert len(rows) == 1 + 6


# More auditing: sign-in, sign-out, failed sign-in, deletion


def test_a_sign_in_and_a_sign_out_are_recorded_without_the_address(counselor, agency):
    browser = Client(REMOTE_ADDR=ADDRESS)
    response = sign_in(browser, "alice", PASSWORD)
    assert response.status_code == 302
    signed_in = AuditEntry.objects.get(action="videotermin.auth.signed_in")
    assert (signed_in.agency, signed_in.actor, signed_in.actor_ref) == (
        agency,
        counselor,
        f"staff:{counselor.pk}",
    )
    browser.post(reverse("staff:logout"))
    signed_out = AuditEntry.objects.get(action="videotermin.auth.signed_out")
    assert signed_out.actor == counselor
    for entry in (signed_in, signed_out):
        stored = json.dumps(AuditEntry.objects.filter(pk=entry.pk).values().get(), default=str)
        assert ADDRESS not in stored and "alice" not in stored and PASSWORD not in stored


def test_a_failed_sign_in_names_the_account_by_pseudonym_only(counselor, agency):
    browser = Client(REMOTE_ADDR=ADDRESS)
    wrong = "Sommer2026!alice"
    sign_in(browser, "alice", wrong)
    failed = AuditEntry.objects.get(action="videotermin.auth.sign_in_failed")
    assert failed.agency == agency
    assert (failed.actor, failed.actor_ref) == (None, "")
    assert failed.data == {"account": f"staff:{counselor.pk}"}
    stored = json.dumps(AuditEntry.objects.filter(pk=failed.pk).values().get(), default=str)
    for secret in ("alice", wrong, ADDRESS):
        assert secret not in stored


def test_a_failed_sign_in_with_a_name_nobody_has_is_not_recorded(counselor):
    sign_in(Client(REMOTE_ADDR=ADDRESS), "zacharias.q", "wrong")
    assert not AuditEntry.objects.filter(action__startswith="videotermin.auth.").exists()


def test_the_administrator_finds_failed_sign_ins_under_the_account(ada, counselor, colleague):
    sign_in(Client(), "alice", "wrong")
    sign_in(Client(), "bob", "wrong")
    response = ada.get(reverse(LOG), {"actor": counselor.pk})
    assert shown(response) == ["auth.sign_in_failed"]
    row = row_of(response, "auth.sign_in_failed")
    assert "Anmeldung fehlgeschlagen" in row and "unbekannt" in row and "Alice Berger" in row
    assert "Konto" in row


def test_the_purge_records_each_deleted_appointment_without_personal_data(book, agency, counselor):
    first = book(name="Zacharias Quenstedt", email="zq@quenstedt.example").appointment
    second = book(starts_in=timedelta(minutes=30), customer_number="X9Q7Z3").appointment
    purge(now=second.ends_at + timedelta(days=15))
    deleted = AuditEntry.objects.filter(action="videotermin.privacy.appointment_deleted")
    assert {entry.appointment_ref for entry in deleted} == {
        str(first.public_id),
        str(second.public_id),
    }
    for entry in deleted:
        assert (entry.agency, entry.actor, entry.actor_ref) == (agency, None, "")
        assert entry.appointment_id is None
        assert entry.data == {"members": 2, "retention_days": 14}
        stored = json.dumps(AuditEntry.objects.filter(pk=entry.pk).values().get(), default=str)
        for datum in ("Zacharias", "Quenstedt", "zq@", "X9Q7Z3", "Dana"):
            assert datum not in stored
    # Running it again deletes and records nothing more.
    purge(now=second.ends_at + timedelta(days=16))
    assert deleted.count() == 2
