"""What every change in the agency administration checks first: who acts, and for which agency."""

from django.utils.translation import gettext as _

from videotermin.agencies.models import Agency


class NotAllowed(Exception):
    """A change that the rules forbid; the message is for the administrator."""


def require_admin(agency: Agency, by) -> None:
    """`by` must be an active administrator of this very agency (None: the system, a command)."""
    if by is None:
        return
    staff = getattr(by, "staff", None)
    if staff is None or not by.is_active or not staff.is_admin or staff.agency_id != agency.pk:
        raise NotAllowed(_("Only administrators of this agency may do this."))


def apply_changes(instance, values: dict) -> list[str]:
    """Set on the instance those of the values that differ; return their names, sorted (what
    the audit entry names, never the values: an address may be a person's)."""
    changed = sorted(name for name, value in values.items() if getattr(instance, name) != value)
    for name in changed:
        setattr(instance, name, values[name])
    return changed
