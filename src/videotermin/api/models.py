"""API keys of an agency's systems, and the answers the API keeps for retried requests."""

import hmac
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.actors import AgencySystem
from videotermin.agencies.models import Agency
from videotermin.lib.tokens import hash_token

# What a key looks like: "vtk_<public id>_<secret>". The prefix lets secret scanners and people
# recognise a leaked key; the public id names the key in the audit log and the workspace.
KEY_PREFIX = "vtk_"


class ApiKey(models.Model):
    """One key of an agency's system; only the SHA-256 of its secret is kept.

    Rotating gives the key a new secret and keeps its name, scope and public id (so the audit
    trail names the same actor); the previous secret keeps working until `previous_valid_until`,
    so the system can switch over without a failed call. A revoked key works no more, for good.
    """

    class Scope(models.TextChoices):
        READ = "read", _("read only")
        WRITE = "write", _("read and write")

    public_id = models.CharField(max_length=16, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    secret_hash = models.CharField(max_length=64, unique=True)
    previous_secret_hash = models.CharField(max_length=64, blank=True)
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # Written at most once a minute per key, so busy keys do not write on every call.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["name"]
        constraints = [
            # The audit log names a key by its name: two working keys never share one.
            models.UniqueConstraint(
                fields=["agency", "name"],
                condition=Q(revoked_at__isnull=True),
                name="one_working_api_key_per_name",
            )
        ]

    def __str__(self) -> str:
        return f"API key {self.public_id} ({self.name})"

    @property
    def audit_ref(self) -> str:
        return f"apikey:{self.public_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def may_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    def actor(self) -> AgencySystem:
        """The key as the services know an acting system: by pseudonym, shown by its name."""
        return AgencySystem(agency_id=self.agency_id, audit_ref=self.audit_ref, label=self.name)

    def opens_with(self, secret: str, now: datetime | None = None) -> bool:
        """Whether the secret is this key's current one, or its previous one still in overlap."""
        if self.revoked_at is not None:
            return False
        presented = hash_token(secret)
        if hmac.compare_digest(presented, self.secret_hash):
            return True
        now = now or timezone.now()
        return bool(
            self.previous_secret_hash
            and self.previous_valid_until is not None
            and now < self.previous_valid_until
            and hmac.compare_digest(presented, self.previous_secret_hash)
        )


class IdempotentRequest(models.Model):
    """A changing request done under an `Idempotency-Key`, and the answer it got.

    Written in the same transaction as the change itself: a retry finds either this row with
    the stored answer, or no change at all. The answer is sealed (AES-GCM) with a key derived
    from the caller's secret and the Idempotency-Key, so personal links and names in it are
    unreadable to whoever reads the database. Rows are deleted after API_IDEMPOTENCY_HOURS.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the header's value: a caller may put anything there, a person's name included.
    key_hash = models.CharField(max_length=64)
    # SHA-256 of method, path and the canonical JSON body: the same key with another request
    # is refused.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    headers = models.JSONField(default=dict, blank=True)
    sealed_body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "key_hash"], name="one_answer_per_idempotency_key"
            )
        ]

    def __str__(self) -> str:
        return f"idempotent request {self.key_hash[:12]} of {self.api_key_id}"
