"""Write audit entries."""

from typing import Any

from videotermin.audit.models import AuditEntry


def actor_ref(by) -> str:
    """The pseudonym of whoever acted: a member, a staff user, or "" for the system."""
    if by is None:
        return ""
    if hasattr(by, "audit_ref"):
        return by.audit_ref
    if getattr(by, "is_authenticated", False):
        return f"staff:{by.pk}"
    return ""


def record(action: str, *, agency, by=None, appointment=None, **data: Any) -> AuditEntry:
    """Record that `by` (a member, a staff user, or None for the system) did `action`.

    `data` must name people only by pseudonym (`member.audit_ref`), never by name or address.
    """
    is_member = hasattr(by, "audit_ref")
    user = getattr(by, "user", None) if is_member else by
    return AuditEntry.objects.create(
        agency=agency,
        actor=user if user is not None and getattr(user, "is_authenticated", False) else None,
        actor_ref=actor_ref(by),
        actor_role=getattr(by, "role", "") if is_member and user is None else "",
        action=f"videotermin.{action}",
        appointment=appointment,
        appointment_ref=str(appointment.public_id) if appointment is not None else "",
        data=data,
    )
