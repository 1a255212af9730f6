"""An installation booked for two people moves into the member model without losing anybody:
the citizen's data, link and identity check move to the citizen's member row."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from videotermin.lib.tokens import new_token

BEFORE_MEMBERS = [
    ("appointments", "0002_screen_sharing"),
    ("consent", "0002_default_texts"),
    ("agencies", "0002_agency_relay_only"),
]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_a_two_person_booking_becomes_a_citizen_member_whose_link_still_opens():
    old = migrate(BEFORE_MEMBERS).loader.project_state(BEFORE_MEMBERS).apps
    user = old.get_model("auth", "User").objects.create(username="alice", first_name="Alice")
    agency = old.get_model("agencies", "Agency").objects.create(name="Agentur", slug="agentur")
    location = old.get_model("agencies", "Location").objects.create(agency=agency, name="Mitte")
    checked_at = timezone.now() - timedelta(minutes=3)
    appointment = old.get_model("appointments", "Appointment").objects.create(
        agency=agency,
        location=location,
        counselor=user,
        starts_at=timezone.now() + timedelta(minutes=2),
        citizen_name="Dana Yilmaz",
        citizen_email="dana@example.org",
        language="en",
        customer_number="123D456789",
        identity_checked_at=checked_at,
        identity_checked_by=user,
    )
    participant = old.get_model("appointments", "Participant").objects.create(
        appointment=appointment, name="Dana Yilmaz", language="en", consented_at=checked_at
    )
    token, token_hash = new_token()
    old.get_model("appointments", "Link").objects.create(
        participant=participant, token_hash=token_hash
    )

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from videotermin.appointments.models import Member
    from videotermin.appointments.services import resolve_link

    citizen = Member.objects.get(appointment__public_id=appointment.public_id)
    assert (citizen.role, citizen.name, citizen.email, citizen.language) == (
        "citizen",
        "Dana Yilmaz",
        "dana@example.org",
        "en",
    )
    assert citizen.customer_number == "123D456789"
    assert citizen.consented_at == checked_at
    assert (citizen.identity_checked_at, citizen.identity_checked_by_id) == (checked_at, user.pk)
    assert citizen.public_id == participant.public_id, "the pages' addresses stay the same"
    assert resolve_link(token).pk == citizen.pk
