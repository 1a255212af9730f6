"""Appointments and their members: everyone who takes part in a consultation has a role."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location

# Everyone in one consultation: the host, colleagues and people invited by link (M1).
MAX_MEMBERS = 6


class Status(models.TextChoices):
    INVITED = "invited", _("invited")
    CONSENTED = "consented", _("consented")
    CHECKED = "checked", _("devices checked")
    WAITING = "waiting", _("waiting")
    IN_CALL = "in_call", _("in call")
    DONE = "done", _("done")
    NO_SHOW = "no_show", _("no-show")
    CANCELLED = "cancelled", _("cancelled")
    # The citizen withdrew their consent: no consultation with them on this link.
    WITHDRAWN = "withdrawn", _("consent withdrawn")


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def for_agency(self, agency: Agency) -> "AppointmentQuerySet":
        return self.filter(agency=agency)

    def visible_to(self, user) -> "AppointmentQuerySet":
        """The appointments a staff user may see: those of their own agency, nothing else (and
        nothing at all for an analyst, who reads only the anonymous statistics)."""
        staff = getattr(user, "staff", None)
        if staff is None or not user.is_active or not staff.sees_appointments:
            return self.none()
        return self.filter(agency_id=staff.agency_id)


class Appointment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    # The host: the counselor who holds the consultation; changed only by a hand-over.
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField(_("start"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=30)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped on every change the invited people must hear about; calendar programs need it (.ics).
    sequence = models.PositiveIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    call_started_at = models.DateTimeField(null=True, blank=True)
    call_ended_at = models.DateTimeField(null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        indexes = [models.Index(fields=["agency", "starts_at"])]

    def __str__(self) -> str:
        return f"appointment {self.public_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def entry_opens_at(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.agency.entry_lead_minutes)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def is_running(self) -> bool:
        return self.call_started_at is not None and self.call_ended_at is None

    def links_valid(self, now: datetime | None = None) -> bool:
        """Links work from the invitation until the appointment ends (or the call ended later)."""
        now = now or timezone.now()
        if self.cancelled_at or self.call_ended_at:
            return False
        return now < self.valid_until

    @property
    def valid_until(self) -> datetime:
        # A consultation that runs over keeps its links alive until the host ends it.
        if self.is_running:
            return max(self.ends_at, timezone.now() + timedelta(minutes=1))
        return self.ends_at

    def present_members(self) -> list["Member"]:
        """The members still part of the consultation (nobody removed), in the order they came."""
        return [m for m in self.members.all() if m.removed_at is None]

    def citizen(self) -> "Member | None":
        return next((m for m in self.present_members() if m.role == Member.Role.CITIZEN), None)

    def externals(self) -> list["Member"]:
        return [m for m in self.present_members() if not m.is_staff]

    def status(self, now: datetime | None = None) -> Status:
        """The state shown in the day view, derived from what has happened."""
        now = now or timezone.now()
        if self.cancelled_at:
            return Status.CANCELLED
        if self.call_ended_at:
            return Status.DONE
        if self.call_started_at:
            return Status.IN_CALL
        externals = self.externals()
        if any(m.presence == Member.Presence.WAITING for m in externals):
            return Status.WAITING
        citizen = self.citizen()
        if citizen and citizen.withdrawn_at:
            return Status.WITHDRAWN
        if now >= self.ends_at:
            return Status.NO_SHOW
        if citizen and citizen.check_result:
            return Status.CHECKED
        if citizen and citizen.consented_at:
            return Status.CONSENTED
        return Status.INVITED


class Member(models.Model):
    """One person in a consultation: the host, a colleague, or someone invited by link.

    Staff members (host, colleague) come with their user account and need no link, consent or
    admission. Everyone else has their own name, e-mail address, language, links, consent,
    device check, waiting room, admission and identity check.
    """

    class Role(models.TextChoices):
        HOST = "host", _("counselor")
        COLLEAGUE = "colleague", _("colleague")
        CITIZEN = "citizen", _("citizen")
        INTERPRETER = "interpreter", _("interpreter")
        GUARDIAN = "guardian", _("guardian")
        LEGAL_COUNSEL = "legal_counsel", _("legal counsel")
        TRUSTED_PERSON = "trusted_person", _("trusted person")

    class Presence(models.TextChoices):
        AWAY = "away", _("not connected")
        WAITING = "waiting", _("in the waiting room")
        IN_CALL = "in_call", _("in the call")
        LEFT = "left", _("left")

    class CheckResult(models.TextChoices):
        GREEN = "green", _("ready")
        YELLOW = "yellow", _("usable with limits")
        RED = "red", _("not ready")

    STAFF_ROLES = frozenset({Role.HOST, Role.COLLEAGUE})
    # Who may be invited by link besides the citizen (S5).
    EXTRA_ROLES = (Role.INTERPRETER, Role.GUARDIAN, Role.LEGAL_COUNSEL, Role.TRUSTED_PERSON)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CITIZEN)
    # Staff members only; their name comes from the account.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
    )
    # People invited by link: what the consent text lists, deleted with the appointment (N3).
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="de"
    )
    customer_number = models.CharField(_("customer number"), max_length=40, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    consented_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    # Consent withdrawn from the member's own link: their links and pages end for good.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Device data is kept only after consent (J5) and deleted with the appointment (N3).
    check_result = models.CharField(max_length=10, choices=CheckResult.choices, blank=True)
    check_details = models.JSONField(default=dict, blank=True)
    browser = models.CharField(max_length=100, blank=True)
    operating_system = models.CharField(max_length=100, blank=True)
    camera_on = models.BooleanField(default=False)
    microphone_on = models.BooleanField(default=False)
    screen_on = models.BooleanField(default=False)
    # What the host allows this member (J11); staff may always.
    may_share_screen = models.BooleanField(default=False)
    may_send_documents = models.BooleanField(default=True)
    may_chat = models.BooleanField(default=True)

    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.AWAY)
    # The current connection of this member's page (its signaling id and its channel); a reload
    # replaces both.
    session = models.CharField(max_length=32, blank=True)
    channel = models.CharField(max_length=200, blank=True)
    # The session of the page's last connection: a page that lost its socket comes back under it
    # and keeps its peer connections (the media never touched the server).
    last_session = models.CharField(max_length=32, blank=True)
    # The application process that holds the socket (calls.Node): gone with its lease, the
    # member is no longer connected.
    node = models.CharField(max_length=100, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # This person answered the survey of this consultation; the answers are kept apart, with
    # nothing that leads back here (survey.SurveyResponse).
    survey_answered = models.BooleanField(default=False)
    # The host confirmed this person's identity (J10); no document is stored.
    identity_checked_at = models.DateTimeField(null=True, blank=True)
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Raised with every change, so that a page applies the newest state of a member only.
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "user"],
                condition=Q(user__isnull=False),
                name="one_membership_per_staff_user",
            )
        ]
        # The people waiting or in a call now, counted at every scrape of /metrics: a few rows
        # among every member of the last fortnight.
        indexes = [
            models.Index(
                fields=["presence"],
                condition=Q(presence__in=["waiting", "in_call"]),
                name="member_present",
            )
        ]

    def __str__(self) -> str:
        return f"member {self.public_id} ({self.role})"

    @property
    def is_staff(self) -> bool:
        return self.role in self.STAFF_ROLES

    @property
    def is_host(self) -> bool:
        return self.role == self.Role.HOST

    @property
    def display_name(self) -> str:
        user = self.user
        if user is not None:
            return user.get_full_name() or user.get_username()
        return self.name

    @property
    def audit_ref(self) -> str:
        """How the audit trail names this member: a pseudonym that outlives the personal data."""
        if self.user_id is not None:
            return f"staff:{self.user_id}"
        return f"member:{self.public_id}"

    def may(self, permission: str) -> bool:
        """Whether the member may share a screen, send documents or chat now."""
        if self.is_staff:
            return True
        return bool(getattr(self, f"may_{permission}"))


class Link(models.Model):
    """A personal link sent to a member; only the hash of its secret is kept.

    Every e-mail carries a link of its own, so a resent invitation does not break the first one;
    all of a member's links stop working when the appointment ends or is cancelled, when the
    member is removed, or when the e-mail address they went to is corrected.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link {self.pk} of {self.member}"


class Reminder(models.Model):
    """A reminder e-mail to one member, `hours` before the start it was for (J2).

    The row is claimed before the e-mail goes out and marked sent afterwards; the unique
    constraint lets only one worker claim it, so a reminder is never sent twice, even by workers
    that run at once or after a restart. A changed start is another start: it is reminded of anew.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="reminders")
    hours = models.PositiveSmallIntegerField()
    starts_at = models.DateTimeField()
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "hours", "starts_at"], name="one_reminder_per_member_and_time"
            )
        ]

    def __str__(self) -> str:
        return f"reminder {self.hours} h of {self.member}"
