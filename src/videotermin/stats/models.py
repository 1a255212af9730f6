"""Anonymous facts about consultations, kept when their personal data are deleted (N3).

A fact holds counts and durations with the agency, the location and the day only: no
appointment, no member, no time of day, no free text. Its key is random, so that not even the
order in which facts were written leads back to a consultation.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location


class ConsultationFact(models.Model):
    class Outcome(models.TextChoices):
        HELD = "held", _("held")
        NO_SHOW = "no_show", _("no-show")
        CANCELLED = "cancelled", _("cancelled")

    class Quality(models.TextChoices):
        # The lowest mode any page of someone invited by link stepped down to (quality.js).
        KEPT = "kept", _("kept its quality")
        SAVER = "saver", _("stepped down to data saver")
        AUDIO = "audio", _("stepped down to audio only")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="consultation_facts")
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The planned day in the agency's time zone; nothing finer.
    day = models.DateField(_("day"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    planned_minutes = models.PositiveSmallIntegerField(_("planned minutes"))
    # From the first admission to the end; None when the consultation was not held.
    held_minutes = models.PositiveIntegerField(_("held minutes"), null=True, blank=True)
    # How long the first person admitted waited for the host; None when nobody was admitted.
    seconds_to_admit = models.PositiveIntegerField(
        _("waiting time until admitted (seconds)"), null=True, blank=True
    )
    # Counts by role: {"citizen": 1, "interpreter": 1}. Invited: the people invited by link;
    # took part: staff in the room and the people admitted.
    invited = models.JSONField(_("invited by role"), default=dict, blank=True)
    took_part = models.JSONField(_("took part by role"), default=dict, blank=True)
    # The people invited by link who reached the waiting room (or were let in).
    entered = models.PositiveSmallIntegerField(_("entered the waiting room"), default=0)
    consents_accepted = models.PositiveSmallIntegerField(_("consents given"), default=0)
    consents_declined = models.PositiveSmallIntegerField(_("consents declined"), default=0)
    checks_green = models.PositiveSmallIntegerField(_("device checks green"), default=0)
    checks_yellow = models.PositiveSmallIntegerField(_("device checks yellow"), default=0)
    checks_red = models.PositiveSmallIntegerField(_("device checks red"), default=0)
    checks_missing = models.PositiveSmallIntegerField(_("device checks missing"), default=0)
    # Counts by family only, never a version: {"Chrome": 1, "Firefox": 1}.
    browsers = models.JSONField(_("browser families"), default=dict, blank=True)
    systems = models.JSONField(_("operating system families"), default=dict, blank=True)
    # Empty when no page reported its sending mode (before the call, or a page too old).
    quality = models.CharField(
        _("quality steps"), max_length=10, choices=Quality.choices, blank=True
    )
    quality_steps_down = models.PositiveSmallIntegerField(_("steps down in quality"), default=0)

    class Meta:
        verbose_name = _("consultation fact")
        verbose_name_plural = _("consultation facts")
        indexes = [models.Index(fields=["agency", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.outcome}"


class FactWritten(models.Model):
    """Marks an appointment whose fact exists, so that it gets exactly one; deleted with it.

    Nothing leads from here to the fact.
    """

    appointment = models.OneToOneField(
        "appointments.Appointment",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("fact written")
        verbose_name_plural = _("facts written")

    def __str__(self) -> str:
        return f"fact written for appointment {self.appointment_id}"


class QualityTally(models.Model):
    """The quality steps of a running consultation's pages, until its fact takes them over;
    deleted with the appointment. Counts only: nothing says whose page stepped down."""

    appointment = models.OneToOneField(
        "appointments.Appointment",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    steps_down = models.PositiveIntegerField(default=0)
    # "" while no page stepped down; else the lowest mode reached, "saver" or "audio".
    lowest = models.CharField(max_length=10, blank=True)

    class Meta:
        verbose_name = _("quality tally")
        verbose_name_plural = _("quality tallies")

    def __str__(self) -> str:
        return f"quality of appointment {self.appointment_id}"
