"""An agency's webhook endpoints, changed by its administrators: atomic and audited.

The audit entries name the endpoint by its public id and the changed fields by name; never the
URL (it may carry a token of the receiving system) and never a secret.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from videotermin.administration.rules import NotAllowed, require_admin
from videotermin.agencies.models import Agency
from videotermin.audit.services import record
from videotermin.webhooks import addresses, delivery, outbox, signing
from videotermin.webhooks.events import EVENT_TYPES
from videotermin.webhooks.models import Delivery, Endpoint

# After a rotation the old secret keeps signing this long, beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)
FIELDS = ("url", "description", "event_types", "active")


def _clean(values: dict) -> dict:
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"not an endpoint field: {sorted(unknown)}")
    if "url" in values:
        addresses.check_url(values["url"])
    if "event_types" in values:
        types = list(values["event_types"])
        if set(types) - set(EVENT_TYPES):
            raise ValueError("unknown event type")
        values["event_types"] = [t for t in EVENT_TYPES if t in types]
    return values


def add_endpoint(agency: Agency, *, by, **values) -> tuple[Endpoint, str]:
    """A new endpoint with a new signing secret; returns both (the secret is shown once)."""
    require_admin(agency, by)
    values = _clean(values)
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            agency=agency, secret_sealed=signing.seal(secret), **values
        )
        record(
            "webhook.endpoint_added",
            agency=agency,
            by=by,
            endpoint=str(endpoint.public_id),
            events=endpoint.event_types,
        )
    return endpoint, secret


def change_endpoint(endpoint: Endpoint, *, by, **values) -> Endpoint:
    require_admin(endpoint.agency, by)
    values = _clean(values)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        changed = sorted(name for name, value in values.items() if getattr(endpoint, name) != value)
        if not changed:
            return endpoint
        for name in changed:
            setattr(endpoint, name, values[name])
        endpoint.save(update_fields=changed)
        data = {"events": endpoint.event_types} if "event_types" in changed else {}
        record(
            "webhook.endpoint_changed",
            agency=endpoint.agency,
            by=by,
            endpoint=str(endpoint.public_id),
            fields=changed,
            **data,
        )
        if "active" in changed and endpoint.active:
            # What waited while it was off goes out now.
            transaction.on_commit(delivery.request_run)
    return endpoint


def remove_endpoint(endpoint: Endpoint, *, by) -> None:
    """Remove the endpoint with its deliveries (undelivered ones are not sent)."""
    require_admin(endpoint.agency, by)
    with transaction.atomic():
        record(
            "webhook.endpoint_removed",
            agency=endpoint.agency,
            by=by,
            endpoint=str(endpoint.public_id),
        )
        endpoint.delete()


def rotate_secret(endpoint: Endpoint, *, by) -> str:
    """A new signing secret; the old one signs too for ROTATION_OVERLAP. Returns the new one."""
    require_admin(endpoint.agency, by)
    secret = signing.new_secret()
    now = timezone.now()
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret_sealed = endpoint.secret_sealed
        endpoint.previous_secret_until = now + ROTATION_OVERLAP
        endpoint.secret_sealed = signing.seal(secret)
        endpoint.secret_created_at = now
        endpoint.save(
            update_fields=[
                "previous_secret_sealed",
                "previous_secret_until",
                "secret_sealed",
                "secret_created_at",
            ]
        )
        record(
            "webhook.secret_rotated",
            agency=endpoint.agency,
            by=by,
            endpoint=str(endpoint.public_id),
        )
    return secret


def send_test(endpoint: Endpoint, *, by) -> Delivery:
    """Queue a `webhook.test` event for this endpoint alone."""
    require_admin(endpoint.agency, by)
    if not endpoint.active:
        raise NotAllowed(_("This endpoint is switched off. Switch it on first."))
    with transaction.atomic():
        event = outbox.emit_test(endpoint)
        record("webhook.test_sent", agency=endpoint.agency, by=by, endpoint=str(endpoint.public_id))
    return event.deliveries.get()


def replay(target: Delivery, *, by) -> Delivery:
    """Send a delivered or failed delivery again, with the same `webhook-id`."""
    endpoint = target.endpoint
    require_admin(endpoint.agency, by)
    with transaction.atomic():
        target = Delivery.objects.select_for_update().get(pk=target.pk)
        if target.status == Delivery.Status.PENDING:
            return target
        delivery.replay(target)
        record(
            "webhook.delivery_replayed",
            agency=endpoint.agency,
            by=by,
            endpoint=str(endpoint.public_id),
            delivery=str(target.public_id),
        )
        transaction.on_commit(delivery.request_run)
    target.refresh_from_db()
    return target
