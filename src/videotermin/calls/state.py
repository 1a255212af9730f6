"""Who may enter a room, and the room state each kind of member is shown."""

from dataclasses import dataclass
from typing import Any

from videotermin.appointments.models import Appointment, Participant

SESSION_KEY = "videotermin.participants"


@dataclass(frozen=True)
class Member:
    """An authenticated room connection: the counselor (user) or a participant."""

    appointment: Appointment
    user: Any = None
    participant: Participant | None = None

    @property
    def is_counselor(self) -> bool:
        return self.user is not None


def find_member(appointment_id: str, user, session) -> Member | None:
    """The counselor of the appointment's agency, or a participant whose link opened the session."""
    appointment = (
        Appointment.objects.select_related("agency", "counselor")
        .filter(public_id=appointment_id)
        .first()
    )
    if appointment is None:
        return None
    staff = getattr(user, "staff", None) if user is not None and user.is_authenticated else None
    if staff is not None:
        return Member(appointment, user=user) if staff.agency_id == appointment.agency_id else None
    allowed = set(session.get(SESSION_KEY, [])) if session is not None else set()
    participant = appointment.participants.filter(public_id__in=allowed).first()
    return Member(appointment, participant=participant) if participant else None


def room_state(appointment_pk: int, *, for_counselor: bool) -> dict[str, Any]:
    """A snapshot of the room; device details only for the counselor."""
    appointment = Appointment.objects.select_related("counselor").get(pk=appointment_pk)
    participants = []
    for p in appointment.participants.order_by("waiting_since", "pk"):
        entry: dict[str, Any] = {
            "id": str(p.public_id),
            "role": p.role,
            "name": p.name,
            "presence": p.presence,
            "admitted": p.admitted_at is not None,
            "session": p.session if p.presence == Participant.Presence.IN_CALL else None,
            "camera": p.camera_on,
            "microphone": p.microphone_on,
            "mayShareScreen": p.may_share_screen,
            "screen": p.screen_on and p.may_share_screen,
        }
        if for_counselor:
            entry.update(
                check=p.check_result or None,
                checkDetails=p.check_details,
                browser=p.browser,
                os=p.operating_system,
                waitingSince=p.waiting_since.isoformat() if p.waiting_since else None,
            )
        participants.append(entry)
    counselor = appointment.counselor
    return {
        "type": "room",
        "v": 1,
        "appointment": {
            "id": str(appointment.public_id),
            "startsAt": appointment.starts_at.isoformat(),
            "callStarted": appointment.call_started_at is not None,
            "callEnded": appointment.call_ended_at is not None,
            "cancelled": appointment.cancelled_at is not None,
            "identityChecked": appointment.identity_checked_at is not None,
        },
        "counselor": {
            "name": counselor.get_full_name() or counselor.get_username(),
            "session": appointment.counselor_session or None,
            "screen": appointment.counselor_screen_on and bool(appointment.counselor_session),
        },
        "participants": participants,
    }
