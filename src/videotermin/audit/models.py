"""An append-only log of what staff, members and the system did, with dotted action names.

People are named by pseudonyms only (`staff:<id>`, `member:<public id>`), never by name or
e-mail address, so that deleting an appointment's personal data leaves the trail intact.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency


class AuditEntry(models.Model):
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="audit_entries")
    # A staff user who acted (kept while the account exists); actor_ref names every actor.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    actor_ref = models.CharField(max_length=80, blank=True)  # "staff:12", "member:<uuid>", ""
    # A member's role ("citizen", "interpreter"), so the log can say who acted once the member
    # row is deleted; empty for staff and the system.
    actor_role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=100)  # e.g. "videotermin.appointment.cancelled"
    appointment = models.ForeignKey(
        "appointments.Appointment", on_delete=models.SET_NULL, null=True, blank=True
    )
    # The appointment's public id, kept when the appointment itself is deleted.
    appointment_ref = models.CharField(max_length=36, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        # The audit log pages through one agency's entries, newest first.
        indexes = [models.Index(fields=["agency", "-at", "-id"], name="audit_agency_at_idx")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
