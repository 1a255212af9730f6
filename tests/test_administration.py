"""The agency administration: only an agency's administrators reach it, only for their own
agency; every change is audited."""

import pytest
from django.urls import reverse

from videotermin.agencies.models import StaffMember
from videotermin.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(agency, location):
    from tests.personas import make_staff

    user = make_staff(agency, location, "ada", "Ada Richter")
    StaffMember.objects.filter(user=user).update(role=StaffMember.Role.ADMIN)
    return user


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


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
