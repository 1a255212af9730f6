"""Licences per agency and the installation's media servers (A6).

A Licence caps what one agency may use: counselor seats, consultations at the same time and
people in one consultation. Each limit may be empty (no limit), and an agency without a licence
row has none at all: the embedded default.

A MediaServer is a TURN server or a Janus node that the operator registered. Without any row of
a kind, the settings (TURN_URLS, VIDEOTERMIN_JANUS_URL) serve as before; with rows, new calls and
test calls go to the healthy, least-loaded one (placement.py). The job runner checks each every
CHECK_INTERVAL (tasks.py) and stores the verdict here.
"""

import uuid

from django.db import models

from videotermin.agencies.models import Agency


class Licence(models.Model):
    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="licence")
    # Active staff accounts that hold consultations (every role but the analyst's).
    seats = models.PositiveIntegerField(null=True, blank=True)
    # Consultations of the agency running at the same time (started, not ended, someone in it).
    concurrent = models.PositiveIntegerField(null=True, blank=True)
    # People in one consultation, the counselor included; at most appointments.MAX_MEMBERS.
    group = models.PositiveSmallIntegerField(null=True, blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"licence of {self.agency}"


class MediaServer(models.Model):
    class Kind(models.TextChoices):
        TURN = "turn", "TURN"
        JANUS = "janus", "Janus"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The operator's name for it, unique: "turn-dc1", "janus-2".
    name = models.SlugField(max_length=60, unique=True)
    # TURN: its turn:/turns: URLs as the browsers get them; Janus: the URL of its HTTP API.
    urls = models.JSONField(default=list)
    # TURN: where the shared secret of `use-auth-secret` is read from ("env:NAME" or
    # "file:/path"), never the secret itself.
    secret_ref = models.CharField(max_length=300, blank=True)
    # Janus: its admin API (for the session count) and where its admin secret is read from.
    admin_url = models.CharField(max_length=300, blank=True)
    admin_secret_ref = models.CharField(max_length=300, blank=True)
    # The last check's verdict: None until the first check.
    healthy = models.BooleanField(null=True, blank=True)
    # What failed, as a kind ("timeout", "ConnectionRefusedError", "secret"), never a message.
    error = models.CharField(max_length=100, blank=True)
    # Janus sessions reported by its admin API at the last check; None when not reported.
    load = models.PositiveIntegerField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # When `healthy` last changed (taken out or back).
    changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"
