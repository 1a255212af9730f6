"""Agencies (tenants), their locations, and the staff who work for them."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def default_reminder_hours() -> list[int]:
    return [24, 1]


class Agency(models.Model):
    """A public agency: a tenant whose data, staff and settings no other agency sees."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), unique=True)
    support_phone = models.CharField(_("support telephone"), max_length=50, blank=True)
    support_email = models.EmailField(_("support e-mail"), blank=True)
    support_hours = models.CharField(_("support hours"), max_length=200, blank=True)
    alternatives = models.TextField(
        _("alternatives to a video consultation"),
        blank=True,
        help_text=_("Shown to citizens who decline consent: how else they can reach you."),
    )
    entry_lead_minutes = models.PositiveSmallIntegerField(
        _("waiting room opens (minutes before the start)"), default=5
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Berlin")
    primary_color = models.CharField(_("primary colour"), max_length=7, default="#00526e")
    # A2: the colour of text on the primary colour (header, buttons); look.py keeps both at
    # 4.5:1 or more.
    text_color = models.CharField(
        _("text colour on the primary colour"), max_length=7, default="#ffffff"
    )
    logo = models.ForeignKey(
        "Logo",
        verbose_name=_("logo"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    relay_only = models.BooleanField(
        _("relay only"),
        default=False,
        help_text=_(
            "Send all call media through the agency's TURN server. This hides participants' IP "
            "addresses from each other; the media stays end-to-end encrypted."
        ),
    )

    # N3: personal data of an appointment are deleted this many days after it ended; the
    # consent text promises 14, so an agency may choose fewer, never more.
    retention_days = models.PositiveSmallIntegerField(
        _("days until personal data are deleted"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(14)],
    )
    # J2: reminders go out this many hours before the start, one e-mail per number.
    reminder_hours = models.JSONField(
        _("reminders (hours before the start)"), default=default_reminder_hours, blank=True
    )
    # S1: the agency's security policy for its staff's sign-in.
    require_second_factor = models.BooleanField(
        _("second factor required"),
        default=False,
        help_text=_(
            "Every staff member must sign in with a second factor (an authenticator app or a "
            "security key); whoever has none sets one up before anything else."
        ),
    )

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # TURN_URLS or a registered TURN server (imported here: resources' models need ours).
        from videotermin.resources import placement

        if self.relay_only and not placement.turn_servers():
            raise ValidationError(
                {"relay_only": _("Relay only needs a TURN server: set TURN_URLS first.")}
            )


class LocationQuerySet(models.QuerySet["Location"]):
    def bookable(self) -> "LocationQuerySet":
        """The locations new appointments may be booked at."""
        return self.filter(active=True)


class Location(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    # A location with appointments cannot be deleted (they keep it); it is deactivated instead,
    # and nobody books there any more.
    active = models.BooleanField(_("open for booking"), default=True)
    # A2: what appointments at this location show instead of the agency's look; empty (none)
    # takes the agency's.
    display_name = models.CharField(_("name shown to citizens"), max_length=200, blank=True)
    primary_color = models.CharField(_("primary colour"), max_length=7, blank=True)
    text_color = models.CharField(_("text colour on the primary colour"), max_length=7, blank=True)
    logo = models.ForeignKey(
        "Logo",
        verbose_name=_("logo"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = LocationQuerySet.as_manager()

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self) -> str:
        return self.name


class Logo(models.Model):
    """A checked logo (agencies/logos.py), kept in the database: it is backed up with
    everything else and served by every application node alike.

    Its URL carries the SHA-256 of the bytes, so it can be cached for good.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="logos")
    data = models.BinaryField()
    content_type = models.CharField(max_length=20)
    digest = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("logo")
        verbose_name_plural = _("logos")

    def __str__(self) -> str:
        return f"{self.content_type} {self.digest[:12]}"


class StaffMember(models.Model):
    """Ties a user account to the one agency (and usual location) it works for, in one role."""

    class Role(models.TextChoices):
        # Holds consultations: books, invites, hosts.
        COUNSELOR = "counselor", _("counselor")
        # Runs the agency: locations, staff accounts, texts, retention, security, audit log.
        ADMIN = "admin", _("administrator")
        # Reads the anonymous statistics only: no appointments, no personal data.
        ANALYST = "analyst", _("analyst")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="staff")
    location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.COUNSELOR)
    # The language of the e-mails the account receives (the invitation); de or en.
    language = models.CharField(_("language"), max_length=10, default="de")

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_analyst(self) -> bool:
        return self.role == self.Role.ANALYST

    @property
    def sees_appointments(self) -> bool:
        """Counselors and administrators work with appointments; an analyst never sees one."""
        return self.role != self.Role.ANALYST

    @property
    def sees_statistics(self) -> bool:
        return self.role in (self.Role.ADMIN, self.Role.ANALYST)
