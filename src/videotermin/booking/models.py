"""Self-service booking (J14): published consultation hours, booking links, the public booking
page, slots held while their e-mail is confirmed, and which appointments people booked
themselves.

The labels of the staff's fields are in the staff's forms (`staff_forms.py`): these models are
read by the citizen's pages too, whose catalogues hold only what a citizen can meet.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from videotermin.agencies.models import Agency, Location
from videotermin.appointments.models import Appointment


class Schedule(models.Model):
    """Video-consultation hours one counselor publishes, or a location publishes for its
    counselors (`counselor` empty: every active counselor whose usual location it is)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="booking_schedules")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="booking_schedules",
    )
    slot_minutes = models.PositiveSmallIntegerField(default=30)
    # The earliest a slot can be booked before its start, and how far ahead it is offered.
    lead_hours = models.PositiveSmallIntegerField(default=24)
    horizon_days = models.PositiveSmallIntegerField(default=28)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location__name", "pk"]

    def __str__(self) -> str:
        return f"schedule {self.public_id}"


class WeeklyHours(models.Model):
    """Hours on one weekday of every week, in the agency's local time."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField()  # Monday 0 … Sunday 6, as date.weekday()
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="booking_weekday_0_to_6"),
            models.CheckConstraint(condition=Q(starts__lt=F("ends")), name="booking_hours_order"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.starts:%H:%M}-{self.ends:%H:%M}"


class ScheduleException(models.Model):
    """A closed period (whole days, holidays) or one-off extra hours on one day."""

    class Kind(models.TextChoices):
        CLOSED = "closed", "closed"
        EXTRA = "extra", "extra hours"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="exceptions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    first_day = models.DateField()
    # Closed: the last closed day (the same as first_day for one day). Extra: first_day.
    last_day = models.DateField()
    # Extra hours only.
    starts = models.TimeField(null=True, blank=True)
    ends = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["first_day", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_day__lte=F("last_day")), name="booking_exception_days_order"
            ),
            models.CheckConstraint(
                condition=Q(kind="closed", starts__isnull=True, ends__isnull=True)
                | Q(kind="extra", first_day=F("last_day"), starts__lt=F("ends")),
                name="booking_exception_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.first_day}"


class BookingPage(models.Model):
    """The agency's public booking page (`location` empty) or one location's, when turned on."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="booking_pages")
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    enabled = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency"],
                condition=Q(location__isnull=True),
                name="booking_one_page_per_agency",
            ),
            models.UniqueConstraint(
                fields=["agency", "location"],
                condition=Q(location__isnull=False),
                name="booking_one_page_per_location",
            ),
        ]

    def __str__(self) -> str:
        return f"booking page {self.public_id}"

    @property
    def audit_ref(self) -> str:
        return f"booking:{self.public_id}"


class Invitation(models.Model):
    """A single-use booking link the agency's systems issued to one person.

    Only the hash of the link's secret is kept. Name, address and customer number are there to
    book with; they are blanked once the link is used (the appointment's member has them) or
    has expired, and the row is deleted a while after it expired (tasks.py).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="booking_links")
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="de")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    customer_number = models.CharField(max_length=40, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"booking link {self.public_id}"

    @property
    def audit_ref(self) -> str:
        return f"booking:{self.public_id}"


class Hold(models.Model):
    """A slot held for someone on the public page until they confirm it by e-mail.

    One counselor's start time is held at most once (the unique constraint); an expired hold is
    deleted with everything the person typed (tasks.py), and never counts as taken.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="holds")
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField()
    expires_at = models.DateTimeField()
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="de")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    customer_number = models.CharField(max_length=40, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["counselor", "starts_at"], name="booking_one_hold_per_counselor_and_start"
            )
        ]

    def __str__(self) -> str:
        return f"hold {self.public_id}"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class SelfBooking(models.Model):
    """An appointment the person booked themselves: they may cancel or move it through their
    personal link, within the hours they booked from (`location`, `counselor`: the link's or
    the page's scope; empty for the whole agency)."""

    class Source(models.TextChoices):
        INVITATION = "invitation", "booking link"
        PAGE = "page", "booking page"

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="self_booking"
    )
    source = models.CharField(max_length=12, choices=Source.choices)
    # The booking link's or the page's public id: the audit trail names it ("booking:<id>").
    source_id = models.UUIDField()
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"self-booked {self.appointment_id}"

    @property
    def audit_ref(self) -> str:
        return f"booking:{self.source_id}"
