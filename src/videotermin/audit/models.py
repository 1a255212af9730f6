"""An append-only log of what staff and citizens did, with dotted action names."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency


class AuditEntry(models.Model):
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(max_length=100)  # e.g. "videotermin.appointment.cancelled"
    appointment = models.ForeignKey(
        "appointments.Appointment", on_delete=models.CASCADE, null=True, blank=True
    )
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
