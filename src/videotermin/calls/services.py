"""Business rules of the waiting room and the call: presence, admission, identity check, end."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.appointments.models import Appointment, Participant
from videotermin.appointments.services import NotAllowed, announce, can_enter
from videotermin.audit.services import record
from videotermin.lib.events import publish, room_group
from videotermin.lib.useragent import describe_user_agent

Presence = Participant.Presence


@transaction.atomic
def arrive(participant: Participant, *, user_agent: str = "") -> Participant:
    """The participant's page connected: back in the call if admitted, else in the waiting room.

    A reload keeps the place in the queue (waiting_since stays) and the admission.
    """
    participant = _locked(participant)
    appointment = participant.appointment
    if not participant.consented_at:
        raise NotAllowed(_("Please agree to the consent text first."))
    if not can_enter(appointment):
        raise NotAllowed(_("The consultation room is not open now."))
    now = timezone.now()
    if participant.admitted_at and appointment.call_started_at and not appointment.call_ended_at:
        participant.presence = Presence.IN_CALL
    else:
        participant.presence = Presence.WAITING
        participant.waiting_since = participant.waiting_since or now
    # A new page shares nothing yet, whatever the previous one did.
    participant.screen_on = False
    if user_agent:
        browser, operating_system = describe_user_agent(user_agent)
        participant.browser, participant.operating_system = browser, operating_system
    participant.save()
    announce(appointment)
    return participant


@transaction.atomic
def depart(participant: Participant) -> None:
    """The participant's page went away (closed tab, reload, network): not connected for now."""
    updated = Participant.objects.filter(
        pk=participant.pk, presence__in=[Presence.WAITING, Presence.IN_CALL]
    ).update(presence=Presence.AWAY)
    if updated:
        announce(participant.appointment)


@transaction.atomic
def update_status(
    participant: Participant,
    *,
    camera: bool | None = None,
    microphone: bool | None = None,
    check: dict[str, Any] | None = None,
) -> None:
    """Store the live device status; device details only after consent (J5)."""
    participant = _locked(participant)
    if not participant.consented_at:
        raise NotAllowed(_("Please agree to the consent text first."))
    if camera is not None:
        participant.camera_on = camera
    if microphone is not None:
        participant.microphone_on = microphone
    if check is not None:
        participant.check_result = check["result"]
        participant.check_details = check.get("details", {})
    participant.save()
    announce(participant.appointment)


@transaction.atomic
def admit(participant: Participant, *, by) -> Participant:
    """The counselor lets the participant in; the call starts with the first admission."""
    participant = _locked(participant)
    appointment = participant.appointment
    _require_counselor(appointment, by)
    _require_running(appointment)
    if participant.presence != Presence.WAITING:
        raise NotAllowed(_("This person is not in the waiting room."))
    now = timezone.now()
    participant.admitted_at = now
    participant.presence = Presence.IN_CALL
    participant.save()
    if not appointment.call_started_at:
        Appointment.objects.filter(pk=appointment.pk).update(call_started_at=now)
    record(
        "participant.admitted",
        agency=appointment.agency,
        actor=by,
        appointment=appointment,
        participant=str(participant.public_id),
        role=participant.role,
    )
    publish(
        room_group(appointment.public_id), "room.admitted", participant=str(participant.public_id)
    )
    announce(appointment)
    return participant


@transaction.atomic
def confirm_identity(appointment: Appointment, *, by) -> Appointment:
    """Record that the counselor checked the citizen's identity; no document is stored (J10)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _require_counselor(appointment, by)
    if not appointment.identity_checked_at:
        appointment.identity_checked_at = timezone.now()
        appointment.identity_checked_by = by
        appointment.save(update_fields=["identity_checked_at", "identity_checked_by"])
        record(
            "appointment.identity_checked",
            agency=appointment.agency,
            actor=by,
            appointment=appointment,
        )
        announce(appointment)
    return appointment


@transaction.atomic
def allow_screen_sharing(participant: Participant, allowed: bool, *, by) -> Participant:
    """The counselor lets the participant share a screen, or revokes it (which stops a share)."""
    participant = _locked(participant)
    appointment = participant.appointment
    _require_counselor(appointment, by)
    _require_running(appointment)
    if participant.may_share_screen == allowed:
        return participant
    participant.may_share_screen = allowed
    if not allowed:
        participant.screen_on = False
    participant.save(update_fields=["may_share_screen", "screen_on"])
    record(
        "participant.screen_sharing_allowed" if allowed else "participant.screen_sharing_revoked",
        agency=appointment.agency,
        actor=by,
        appointment=appointment,
        participant=str(participant.public_id),
    )
    announce(appointment)
    return participant


@transaction.atomic
def share_screen(participant: Participant, sharing: bool) -> None:
    """The participant's page started or stopped sharing a screen; only while allowed."""
    participant = _locked(participant)
    if sharing and not participant.may_share_screen:
        raise NotAllowed(_("The counselor has not allowed you to share your screen."))
    if participant.screen_on != sharing:
        participant.screen_on = sharing
        participant.save(update_fields=["screen_on"])
        announce(participant.appointment)


@transaction.atomic
def counselor_shares_screen(appointment: Appointment, sharing: bool) -> None:
    """The counselor's page started or stopped sharing a screen; the room is told."""
    if (
        Appointment.objects.filter(pk=appointment.pk)
        .exclude(counselor_screen_on=sharing)
        .update(counselor_screen_on=sharing)
    ):
        announce(appointment)


@transaction.atomic
def leave(participant: Participant) -> None:
    """The participant hung up. When nobody from outside is left, the consultation ends."""
    participant = _locked(participant)
    participant.presence = Presence.LEFT
    participant.left_at = timezone.now()
    participant.save()
    appointment = participant.appointment
    record(
        "participant.left",
        agency=appointment.agency,
        appointment=appointment,
        participant=str(participant.public_id),
    )
    others = (
        appointment.participants.exclude(pk=participant.pk)
        .filter(presence=Presence.IN_CALL)
        .exists()
    )
    if appointment.call_started_at and not others:
        _end(appointment, by=None, reason="participant_left")
    announce(appointment)


@transaction.atomic
def end_call(appointment: Appointment, *, by) -> Appointment:
    """The counselor ends the consultation for everybody."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _require_counselor(appointment, by)
    if not appointment.call_ended_at:
        _end(appointment, by=by, reason="ended_by_counselor")
        announce(appointment)
    return appointment


def _end(appointment: Appointment, *, by, reason: str) -> None:
    now = timezone.now()
    Appointment.objects.filter(pk=appointment.pk).update(
        call_ended_at=now, call_started_at=appointment.call_started_at or now
    )
    appointment.participants.filter(presence__in=[Presence.WAITING, Presence.IN_CALL]).update(
        presence=Presence.LEFT, left_at=now
    )
    record(
        "appointment.call_ended",
        agency=appointment.agency,
        actor=by,
        appointment=appointment,
        reason=reason,
    )
    publish(room_group(appointment.public_id), "room.closed", reason="ended")


def _locked(participant: Participant) -> Participant:
    """The participant's row, locked until the transaction ends, with appointment and agency."""
    return (
        Participant.objects.select_for_update()
        .select_related("appointment__agency")
        .get(pk=participant.pk)
    )


def _require_running(appointment: Appointment) -> None:
    if appointment.call_ended_at or appointment.cancelled_at:
        raise NotAllowed(_("This consultation has already ended."))


def _require_counselor(appointment: Appointment, user) -> None:
    staff = getattr(user, "staff", None)
    if staff is None or staff.agency_id != appointment.agency_id:
        raise NotAllowed(_("Only staff of this agency may do this."))
