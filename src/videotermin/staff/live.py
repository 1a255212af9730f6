"""What the day view shows of one appointment, as JSON for live updates."""

from typing import Any

from django.utils import timezone

from videotermin.appointments.models import Appointment
from videotermin.checks.summary import network_summary


def describe(public_id: str, user) -> dict[str, Any] | None:
    """The day-view row data of an appointment the user may see, else None."""
    return _describe(Appointment.objects.visible_to(user), public_id)


def describe_in_agency(public_id: str, agency_id: int) -> dict[str, Any] | None:
    """The day-view row data of one of the agency's appointments, as all its staff see it."""
    return _describe(Appointment.objects.filter(agency_id=agency_id), public_id)


def _describe(appointments, public_id: str) -> dict[str, Any] | None:
    appointment = (
        appointments.select_related("location", "agency")
        .prefetch_related("members")
        .filter(public_id=public_id)
        .first()
    )
    if appointment is None:
        return None
    status = appointment.status()
    citizen = appointment.citizen()
    extras = [m for m in appointment.externals() if m is not citizen]
    return {
        "id": str(appointment.public_id),
        "status": status.value,
        "statusLabel": str(status.label),
        "startsAt": timezone.localtime(appointment.starts_at).isoformat(),
        "citizen": {
            "name": citizen.name if citizen else "",
            "presence": citizen.presence if citizen else None,
            "waitingSince": citizen.waiting_since.isoformat()
            if citizen and citizen.waiting_since
            else None,
            "check": citizen.check_result if citizen else "",
            "browser": citizen.browser if citizen else "",
            "os": citizen.operating_system if citizen else "",
            "camera": citizen.camera_on if citizen else False,
            "microphone": citizen.microphone_on if citizen else False,
            "network": network_summary(citizen.check_details) if citizen else "",
        },
        "extras": [
            {
                "name": member.name,
                "role": member.role,
                "roleLabel": str(member.get_role_display()),
                "presence": "withdrawn" if member.withdrawn_at else member.presence,
            }
            for member in extras
        ],
    }
