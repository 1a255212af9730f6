"""Appointments and the people who take part in them."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location


class Status(models.TextChoices):
    INVITED = "invited", _("invited")
    CONSENTED = "consented", _("consented")
    CHECKED = "checked", _("devices checked")
    WAITING = "waiting", _("waiting")
    IN_CALL = "in_call", _("in call")
    DONE = "done", _("done")
    NO_SHOW = "no_show", _("no-show")
    CANCELLED = "cancelled", _("cancelled")


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def for_agency(self, agency: Agency) -> "AppointmentQuerySet":
        return self.filter(agency=agency)

    def visible_to(self, user) -> "AppointmentQuerySet":
        """The appointments a staff user may see: those of their own agency, nothing else."""
        staff = getattr(user, "staff", None)
        if staff is None or not user.is_active:
            return self.none()
        return self.filter(agency_id=staff.agency_id)


class Appointment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField(_("start"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=30)
    citizen_name = models.CharField(_("name"), max_length=200)
    citizen_email = models.EmailField(_("e-mail"))
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="de"
    )
    customer_number = models.CharField(_("customer number"), max_length=40, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped on every change the citizen must hear about; calendar programs need it (.ics).
    sequence = models.PositiveIntegerField(default=0)
    invitation_sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    call_started_at = models.DateTimeField(null=True, blank=True)
    call_ended_at = models.DateTimeField(null=True, blank=True)
    identity_checked_at = models.DateTimeField(null=True, blank=True)
    # The counselor's current room connection; an older tab is told to step aside.
    counselor_session = models.CharField(max_length=32, blank=True)
    # The counselor's page is sharing a screen now (J11); reset when the counselor's page connects.
    counselor_screen_on = models.BooleanField(default=False)
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        indexes = [models.Index(fields=["agency", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.citizen_name} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def entry_opens_at(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.agency.entry_lead_minutes)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def links_valid(self, now: datetime | None = None) -> bool:
        """Links work from the invitation until the appointment ends (or the call ended later)."""
        now = now or timezone.now()
        if self.cancelled_at:
            return False
        return now < self.valid_until

    @property
    def valid_until(self) -> datetime:
        # A consultation that runs over keeps its links alive until the counselor ends it.
        if self.call_started_at and not self.call_ended_at:
            return max(self.ends_at, timezone.now() + timedelta(minutes=1))
        return self.ends_at

    def citizen(self) -> "Participant | None":
        return next(
            (p for p in self.participants.all() if p.role == Participant.Role.CITIZEN), None
        )

    def status(self, now: datetime | None = None) -> Status:
        """The state shown in the day view, derived from what has happened."""
        now = now or timezone.now()
        if self.cancelled_at:
            return Status.CANCELLED
        if self.call_ended_at:
            return Status.DONE
        if self.call_started_at:
            return Status.IN_CALL
        citizen = self.citizen()
        if citizen and citizen.presence == Participant.Presence.WAITING:
            return Status.WAITING
        if now >= self.ends_at:
            return Status.NO_SHOW
        if citizen and citizen.check_result:
            return Status.CHECKED
        if citizen and citizen.consented_at:
            return Status.CONSENTED
        return Status.INVITED


class Participant(models.Model):
    """Someone who joins through a personal link: the citizen (extra participants later)."""

    class Role(models.TextChoices):
        CITIZEN = "citizen", _("citizen")

    class Presence(models.TextChoices):
        AWAY = "away", _("not connected")
        WAITING = "waiting", _("in the waiting room")
        IN_CALL = "in_call", _("in the call")
        LEFT = "left", _("left")

    class CheckResult(models.TextChoices):
        GREEN = "green", _("ready")
        YELLOW = "yellow", _("usable with limits")
        RED = "red", _("not ready")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="participants"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CITIZEN)
    name = models.CharField(max_length=200)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="de")

    consented_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    # Device data is kept only after consent (J5) and deleted with the appointment (N3).
    check_result = models.CharField(max_length=10, choices=CheckResult.choices, blank=True)
    check_details = models.JSONField(default=dict, blank=True)
    browser = models.CharField(max_length=100, blank=True)
    operating_system = models.CharField(max_length=100, blank=True)
    camera_on = models.BooleanField(default=False)
    microphone_on = models.BooleanField(default=False)
    # The counselor allows this participant to share a screen (J11); revocable at any time.
    may_share_screen = models.BooleanField(default=False)
    screen_on = models.BooleanField(default=False)

    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.AWAY)
    # The current connection of this participant's page; a reload replaces it.
    session = models.CharField(max_length=32, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class Link(models.Model):
    """A personal link sent to a participant; only the hash of its secret is kept.

    Every e-mail carries a link of its own, so a resent invitation does not break the first one;
    all of a participant's links stop working when the appointment ends or is cancelled.
    """

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"link {self.pk} of {self.participant}"
