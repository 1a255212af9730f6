"""E-mails to the people invited by link, each in their own language, as HTML and plain text
with an .ics calendar file."""

import enum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vText

from videotermin.appointments.models import Appointment, Member


class Kind(enum.Enum):
    INVITATION = "invitation"
    UPDATE = "update"
    CANCELLATION = "cancellation"
    REMINDER = "reminder"


def personal_link(token: str) -> str:
    return settings.SITE_URL + reverse("journey:link", args=[token])


def subject(kind: Kind, appointment: Appointment, local_start, removed: bool = False) -> str:
    when = formats.date_format(local_start, "DATETIME_FORMAT")
    if kind is Kind.CANCELLATION and removed:
        return _("No longer invited: the video appointment on %(when)s") % {"when": when}
    if kind is Kind.CANCELLATION:
        return _("Cancelled: your video appointment on %(when)s") % {"when": when}
    if kind is Kind.UPDATE:
        return _("Changed: your video appointment on %(when)s") % {"when": when}
    if kind is Kind.REMINDER:
        return _("Reminder: your video appointment on %(when)s") % {"when": when}
    return _("Your video appointment on %(when)s") % {"when": when}


def calendar_file(appointment: Appointment, kind: Kind, link: str | None) -> bytes:
    """An iCalendar invitation (or cancellation) that calendar programs understand."""
    calendar = Calendar()
    calendar.add("prodid", "-//videotermin//videotermin//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if kind is Kind.CANCELLATION else "REQUEST")
    event = Event()
    event.add("uid", f"{appointment.public_id}@videotermin")
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", _("Video appointment: %(agency)s") % {"agency": appointment.agency.name})
    description = _("Personal link: %(link)s") % {"link": link} if link else ""
    event.add("description", description)
    if link:
        event.add("url", link)
        event["location"] = vText(link)
    event.add("status", "CANCELLED" if kind is Kind.CANCELLATION else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def send(member: Member, kind: Kind, *, token: str | None) -> None:
    """Render and send one e-mail to a member invited by link, in the member's language."""
    appointment = member.appointment
    with translation.override(member.language):
        zone = ZoneInfo(appointment.agency.time_zone)
        local_start = timezone.localtime(appointment.starts_at, zone)
        link = personal_link(token) if token else None
        context = {
            "appointment": appointment,
            "member": member,
            # The citizen knows why she is invited; everyone else is told in what role.
            "role_label": "" if member.role == Member.Role.CITIZEN else member.get_role_display(),
            "removed": member.removed_at is not None,
            "agency": appointment.agency,
            "kind": kind.value,
            "link": link,
            "start": local_start,
            "end": timezone.localtime(appointment.ends_at, zone),
            "time_zone": zone.key,
            "lead_minutes": appointment.agency.entry_lead_minutes,
        }
        text = render_to_string(f"appointments/email/{kind.value}.txt", context)
        html = render_to_string(f"appointments/email/{kind.value}.html", context)
        message = EmailMultiAlternatives(
            subject=subject(kind, appointment, local_start, removed=member.removed_at is not None),
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[member.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(html, "text/html")
        message.attach(
            "termin.ics",
            calendar_file(appointment, kind, link),
            "text/calendar; method=" + ("CANCEL" if kind is Kind.CANCELLATION else "REQUEST"),
        )
        message.send()
