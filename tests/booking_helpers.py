"""Published hours and booking links the booking's tests share."""

import re
from datetime import time

from django.core import mail

from videotermin.booking import services
from videotermin.booking.models import BookingPage, Schedule, WeeklyHours

EVERY_DAY = range(7)


def publish(
    agency,
    location,
    counselor=None,
    *,
    weekdays=EVERY_DAY,
    starts: time = time(8),
    ends: time = time(12),
    slot_minutes: int = 30,
    lead_hours: int = 0,
    horizon_days: int = 7,
) -> Schedule:
    """Hours on the given weekdays (every day unless told) for the counselor or the location."""
    schedule = Schedule.objects.create(
        agency=agency,
        location=location,
        counselor=counselor,
        slot_minutes=slot_minutes,
        lead_hours=lead_hours,
        horizon_days=horizon_days,
    )
    for weekday in weekdays:
        WeeklyHours.objects.create(schedule=schedule, weekday=weekday, starts=starts, ends=ends)
    return schedule


def invite(agency, counselor=None, *, language: str = "de", **changes):
    """Erik, who registered online as a job seeker, gets a booking link from the agency."""
    values = {"name": "Erik Sommer", "email": "erik@example.org", "customer_number": "123D456"}
    return services.issue_booking_invitation(
        agency, by=None, counselor=counselor, language=language, **{**values, **changes}
    )


def turn_on_page(agency, location=None) -> BookingPage:
    return BookingPage.objects.create(agency=agency, location=location, enabled=True)


def confirmation_token(message) -> str:
    return re.search(r"/booking/confirm/([\w-]+)/", message.body).group(1)


def mail_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]
