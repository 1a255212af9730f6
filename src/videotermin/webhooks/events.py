"""The events an endpoint can receive and what their bodies say (docs/webhooks.md).

Bodies follow the Standard Webhooks shape `{"type", "timestamp", "data"}`. They name the
appointment, its location and its members by their random public ids and give states, roles
and times: never a name, an e-mail address, a customer number, an IP address, a device detail
or a survey answer.
"""

from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from videotermin.appointments.models import Appointment, Member

EVENT_TYPES = {
    "member.invited": _("A person was invited"),
    "member.consented": _("A person agreed to the consent text"),
    "member.checked": _("A person finished the device check"),
    "member.waiting": _("A person entered the waiting room"),
    "member.admitted": _("A person was admitted to the consultation"),
    "member.left": _("A person left the consultation"),
    "consultation.started": _("The consultation started"),
    "consultation.ended": _("The consultation ended"),
    "consultation.no_show": _("The consultation was not held (no-show)"),
    "consultation.cancelled": _("The appointment was cancelled"),
    "survey.answered": _("A person answered the survey (without the answers)"),
}
# Sent only by "Send a test event", to one endpoint, whatever it subscribed to.
TEST = "webhook.test"


def timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds, as Standard Webhooks' `timestamp`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe_appointment(appointment: Appointment, now: datetime) -> dict[str, Any]:
    return {
        "id": str(appointment.public_id),
        "state": str(appointment.status(now)),
        "starts_at": timestamp(appointment.starts_at),
        "duration_minutes": appointment.duration_minutes,
        "location": str(appointment.location.public_id),
    }


def describe_member(member: Member) -> dict[str, Any]:
    return {"id": str(member.public_id), "role": str(member.role), "presence": str(member.presence)}
