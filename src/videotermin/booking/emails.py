"""The e-mail that asks a person to confirm the slot they chose on the public booking page."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from videotermin.booking.models import Hold


def confirmation_link(token: str) -> str:
    return settings.SITE_URL + reverse("booking:confirm_link", args=[token])


def send_confirmation(hold: Hold, token: str) -> None:
    """Send the confirmation link in the language the person booked in."""
    from videotermin.booking.slots import zone_of

    agency = hold.page.agency
    zone = zone_of(agency)
    with translation.override(hold.language):
        start = timezone.localtime(hold.starts_at, zone)
        context = {
            "agency": agency,
            "name": hold.name,
            "link": confirmation_link(token),
            "start": start,
            "end": timezone.localtime(hold.ends_at, zone),
            "held_until": timezone.localtime(hold.expires_at, zone),
            "time_zone": zone.key if hasattr(zone, "key") else str(zone),
            "location": hold.location,
        }
        message = EmailMultiAlternatives(
            subject=_("Please confirm your video appointment on %(when)s")
            % {"when": formats.date_format(start, "DATETIME_FORMAT")},
            body=render_to_string("booking/email/confirm.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[hold.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(
            render_to_string("booking/email/confirm.html", context), "text/html"
        )
        message.send()
