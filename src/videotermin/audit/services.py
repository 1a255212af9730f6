"""Write audit entries."""

from typing import Any

from videotermin.audit.models import AuditEntry


def record(action: str, *, agency, actor=None, appointment=None, **data: Any) -> AuditEntry:
    """Record that `actor` (None for a citizen or the system) did `action`."""
    return AuditEntry.objects.create(
        agency=agency,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=f"videotermin.{action}",
        appointment=appointment,
        data=data,
    )
