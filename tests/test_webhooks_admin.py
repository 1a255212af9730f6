"""The agency administration's webhook pages: only the agency's administrators, only their own
agency's endpoints; the secret is shown once; every change is audited; the delivery log shows
what was sent and sends it again."""

import re

import pytest
from django.urls import reverse
from tests.personas import make_staff
from tests.webhookreceiver import Receiver

from videotermin.agencies.models import StaffMember
from videotermin.appointments import services as appointments
from videotermin.audit.models import AuditEntry
from videotermin.webhooks import delivery, services
from videotermin.webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{44}")


@pytest.fixture(autouse=True)
def loopback_receivers(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def endpoint(agency):
    endpoint, _secret = services.add_endpoint(
        agency,
        by=None,
        url="http://127.0.0.1:9/termine",
        description="Terminverwaltung",
        event_types=["consultation.cancelled"],
    )
    return endpoint


@pytest.fixture
def other_admin(other_agency, outsider):
    """Cora, the administrator of the other agency."""
    user = make_staff(other_agency, outsider.staff.location, "cora", "Cora Lenz")
    StaffMember.objects.filter(user=user).update(role=StaffMember.Role.ADMIN)
    return user


def endpoint_urls(endpoint) -> list[tuple[str, str]]:
    one = {"endpoint_id": endpoint.public_id}
    return [
        ("get", reverse("webhooks:endpoint", kwargs=one)),
        ("post", reverse("webhooks:endpoint", kwargs=one)),
        ("get", reverse("webhooks:remove", kwargs=one)),
        ("post", reverse("webhooks:remove", kwargs=one)),
        ("post", reverse("webhooks:rotate", kwargs=one)),
        ("post", reverse("webhooks:test", kwargs=one)),
        ("get", reverse("webhooks:deliveries", kwargs=one)),
    ]


def test_a_counselor_is_refused_every_webhook_page(client, counselor, endpoint):
    client.force_login(counselor)
    pages = [("get", reverse("webhooks:index")), ("post", reverse("webhooks:add"))]
    for method, url in pages + endpoint_urls(endpoint):
        assert getattr(client, method)(url).status_code == 403, url
    assert Endpoint.objects.get() == endpoint
    assert not AuditEntry.objects.filter(action__startswith="videotermin.webhook.").exclude(
        action="videotermin.webhook.endpoint_added"
    )


def test_another_agencys_administrator_finds_no_endpoint_of_this_agency(
    client, other_admin, endpoint
):
    client.force_login(other_admin)
    for method, url in endpoint_urls(endpoint):
        assert getattr(client, method)(url).status_code == 404, url
    assert endpoint.url not in client.get(reverse("webhooks:index")).text
    Endpoint.objects.get(pk=endpoint.pk, active=True)


def test_the_administrator_adds_an_endpoint_and_sees_its_secret_once(admin_client, agency):
    settings_page = admin_client.get(reverse("administration:index"), follow=True)
    assert reverse("webhooks:index") in settings_page.text

    response = admin_client.post(
        reverse("webhooks:add"),
        {
            "url": "http://127.0.0.1:8081/termine",
            "description": "Terminverwaltung",
            "event_types": ["member.admitted", "consultation.ended"],
            "active": "on",
        },
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [secret] = SECRET.findall(response.text)
    endpoint = Endpoint.objects.get(agency=agency)
    assert endpoint.event_types == ["member.admitted", "consultation.ended"]
    assert secret not in endpoint.secret_sealed
    # Nowhere to be seen again.
    assert not SECRET.search(admin_client.get(reverse("webhooks:index")).text)
    assert not SECRET.search(
        admin_client.get(reverse("webhooks:endpoint", args=[endpoint.public_id])).text
    )
    entry = AuditEntry.objects.get(action="videotermin.webhook.endpoint_added")
    assert entry.data == {
        "endpoint": str(endpoint.public_id),
        "events": ["member.admitted", "consultation.ended"],
    }


def test_plain_http_and_private_addresses_are_refused_unless_the_operator_allowed_them(
    admin_client, settings
):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    for url in ("http://termine.agentur.example/in", "https://10.0.0.8/in", "https://[::1]/in"):
        response = admin_client.post(
            reverse("webhooks:add"), {"url": url, "event_types": ["member.invited"]}
        )
        assert response.status_code == 200
        assert "url" in response.context["form"].errors, url
    response = admin_client.post(reverse("webhooks:add"), {"url": "https://x.example/in"})
    assert "event_types" in response.context["form"].errors
    assert not Endpoint.objects.exists()


def test_the_administrator_changes_and_switches_off_an_endpoint(admin_client, endpoint):
    url = reverse("webhooks:endpoint", args=[endpoint.public_id])
    response = admin_client.post(
        url,
        {
            "url": endpoint.url,
            "description": "Neues System",
            "event_types": ["consultation.cancelled", "consultation.no_show"],
        },
    )

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.active) == ("Neues System", False)
    assert endpoint.event_types == ["consultation.no_show", "consultation.cancelled"]
    entry = AuditEntry.objects.get(action="videotermin.webhook.endpoint_changed")
    assert entry.data["fields"] == ["active", "description", "event_types"]
    log = admin_client.get(reverse("administration:audit")).text
    assert "Webhook-Endpunkt geändert" in log


def test_a_new_secret_is_shown_once_and_audited(admin_client, endpoint):
    old = endpoint.secret_sealed

    response = admin_client.post(reverse("webhooks:rotate", args=[endpoint.public_id]))

    assert response.status_code == 200
    assert SECRET.search(response.text)
    endpoint.refresh_from_db()
    assert endpoint.secret_sealed != old and endpoint.previous_secret_sealed == old
    assert AuditEntry.objects.filter(action="videotermin.webhook.secret_rotated").count() == 1


def test_a_test_event_arrives_and_the_log_shows_it_and_sends_it_again(
    admin_client, agency, counselor, book
):
    with Receiver() as receiver:
        endpoint, _secret = services.add_endpoint(
            agency, by=None, url=receiver.url, event_types=["consultation.cancelled"]
        )
        admin_client.post(reverse("webhooks:test", args=[endpoint.public_id]))
        appointment = book().appointment
        appointments.cancel_appointment(appointment, by=counselor)
        delivery.run(seconds=5)
        assert len(receiver.received) == 2

        log = admin_client.get(reverse("webhooks:deliveries", args=[endpoint.public_id]))
        assert log.status_code == 200
        assert "webhook.test" in log.text and "consultation.cancelled" in log.text
        assert log.text.count('data-status="delivered"') == 2
        assert "HTTP 200" in log.text
        assert str(appointment.public_id)[:8] in log.text

        sent = Delivery.objects.get(event__type="consultation.cancelled")
        response = admin_client.post(
            reverse("webhooks:replay", args=[endpoint.public_id, sent.public_id])
        )
        assert response.status_code == 302
        delivery.run(seconds=5)
        assert len(receiver.received) == 3
        assert receiver.received[2].message_id == sent.event.message_id
    assert AuditEntry.objects.filter(action="videotermin.webhook.test_sent").count() == 1
    assert AuditEntry.objects.filter(action="videotermin.webhook.delivery_replayed").count() == 1


def test_another_agencys_delivery_cannot_be_replayed_through_this_endpoint(
    admin_client, endpoint, other_agency
):
    foreign, _secret = services.add_endpoint(
        other_agency, by=None, url="http://127.0.0.1:9/x", event_types=["member.invited"]
    )
    services.send_test(foreign, by=None)
    theirs = Delivery.objects.get(endpoint=foreign)
    Delivery.objects.filter(pk=theirs.pk).update(status=Delivery.Status.FAILED)

    for owner in (endpoint, foreign):
        response = admin_client.post(
            reverse("webhooks:replay", args=[owner.public_id, theirs.public_id])
        )
        assert response.status_code == 404
    assert Delivery.objects.get(pk=theirs.pk).status == Delivery.Status.FAILED


def test_the_administrator_removes_an_endpoint_after_confirming(admin_client, endpoint):
    url = reverse("webhooks:remove", args=[endpoint.public_id])
    assert endpoint.url in admin_client.get(url).text

    assert admin_client.post(url).status_code == 302

    assert not Endpoint.objects.exists()
    entry = AuditEntry.objects.get(action="videotermin.webhook.endpoint_removed")
    assert entry.data == {"endpoint": str(endpoint.public_id)}


def test_the_pages_speak_german_and_english(admin_client, endpoint):
    german = admin_client.get(reverse("webhooks:index")).text
    assert "Endpunkt hinzufügen" in german
    english = admin_client.get(reverse("webhooks:index"), HTTP_ACCEPT_LANGUAGE="en").text
    assert "Add an endpoint" in english
    form = admin_client.get(reverse("webhooks:add")).text
    assert "Eine Person wurde zum Gespräch eingelassen" in form
