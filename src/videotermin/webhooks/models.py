"""Webhooks: an agency's endpoints, the outbox of events, and one delivery per endpoint and event.

The outbox row (`Event`) and its deliveries are written in the transaction of the change they
describe (outbox.py), so a committed change always has its event and a rolled-back one never
does. Events name appointments and members by their random public ids only; they keep no
foreign key to the appointment, so that its deletion (privacy/) leaves the log of what was sent.
"""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from videotermin.agencies.models import Agency


class Endpoint(models.Model):
    """A URL of the agency's own systems that receives the events it asked for."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(pgettext_lazy("webhooks", "URL"), max_length=500)
    description = models.CharField(
        pgettext_lazy("webhooks", "description"), max_length=200, blank=True
    )
    # The event types (events.EVENT_TYPES) this endpoint receives.
    event_types = models.JSONField(pgettext_lazy("webhooks", "events"), default=list)
    active = models.BooleanField(pgettext_lazy("webhooks", "active"), default=True)
    # The signing secret ("whsec_…"), encrypted with a key derived from SECRET_KEY
    # (signing.seal): it must be read to sign, so it cannot be a hash.
    secret_sealed = models.TextField()
    # After a rotation the old secret signs too, until previous_secret_until, so that the
    # receiver can switch without losing a message.
    previous_secret_sealed = models.TextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    secret_created_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return f"webhook endpoint {self.public_id}"


class Event(models.Model):
    """One event in the outbox: its type and the exact body that is sent."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    # The appointment's public id (none for a test event), and the event's place among the
    # appointment's events: deliveries to one endpoint keep this order.
    appointment = models.UUIDField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    type = models.CharField(max_length=60)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["appointment", "position"], name="webhook_event_order_idx")]

    def __str__(self) -> str:
        return f"{self.type} #{self.position}"

    @property
    def message_id(self) -> str:
        """The `webhook-id` header: the same for every attempt and every replay."""
        return f"msg_{self.public_id.hex}"


class Delivery(models.Model):
    """Sending one event to one endpoint: attempts, the last answer, and a lease while a worker
    sends it."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhooks", "pending")
        DELIVERED = "delivered", pgettext_lazy("webhooks", "delivered")
        FAILED = "failed", pgettext_lazy("webhooks", "failed")

    class Error(models.TextChoices):
        STATUS = "status", _("the receiver answered with an error")
        TIMEOUT = "timeout", pgettext_lazy("webhooks", "no answer in time")
        CONNECTION = "connection", pgettext_lazy("webhooks", "no connection")
        TLS = "tls", _("the TLS connection failed")
        REFUSED_ADDRESS = "address", _("the address is not allowed")
        UNRESOLVED = "unresolved", _("the host name could not be resolved")
        SECRET = "secret", _("the signing secret cannot be read; rotate it")
        WORKER = "worker", _("the sending worker stopped")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # Copied from the event: the order is kept per endpoint and appointment.
    appointment = models.UUIDField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker that sends holds the delivery until lease_until; one that died loses it then.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=32, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=20, choices=Error.choices, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="one_delivery_per_event")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(
                fields=["endpoint", "appointment", "position"], name="webhook_delivery_order_idx"
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.public_id} ({self.status})"
