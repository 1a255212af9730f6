"""An agency's locations, changed by its administrators: atomic and audited.

A location that appointments refer to is never deleted (they keep their place); it is closed
for booking instead. An agency keeps at least one location open, or nobody could book.
"""

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from videotermin.administration.rules import NotAllowed, apply_changes, require_admin
from videotermin.agencies.models import Agency, Location
from videotermin.audit import services as audit


def _refuse_duplicate(agency: Agency, name: str, location: Location | None = None) -> None:
    others = agency.locations.filter(name__iexact=name.strip())
    if location is not None:
        others = others.exclude(pk=location.pk)
    if others.exists():
        raise NotAllowed(_("The agency has a location of this name already."))


def _locked(location: Location) -> Location:
    # The agency's row serialises changes to its locations (the last open one stays open).
    Agency.objects.select_for_update().get(pk=location.agency_id)
    return Location.objects.get(pk=location.pk)


@transaction.atomic
def add_location(agency: Agency, *, by, name: str, address: str = "") -> Location:
    """Add a location, open for booking."""
    require_admin(agency, by)
    Agency.objects.select_for_update().get(pk=agency.pk)
    _refuse_duplicate(agency, name)
    location = Location(agency=agency, name=name.strip(), address=address.strip())
    location.full_clean()
    location.save()
    audit.record("agency.location_added", agency=agency, by=by, location=str(location.public_id))
    return location


@transaction.atomic
def change_location(location: Location, *, by, name: str, address: str = "") -> Location:
    """Rename a location or change its address; the entry names the fields, not the values."""
    require_admin(location.agency, by)
    location = _locked(location)
    _refuse_duplicate(location.agency, name, location)
    values = {"name": name.strip(), "address": address.strip()}
    changed = apply_changes(location, values)
    if not changed:
        return location
    location.full_clean()
    location.save(update_fields=changed)
    audit.record(
        "agency.location_changed",
        agency=location.agency,
        by=by,
        location=str(location.public_id),
        fields=changed,
    )
    return location


def _refuse_closing_the_last(location: Location) -> None:
    if not location.agency.locations.bookable().exclude(pk=location.pk).exists():
        raise NotAllowed(
            _("This is the agency's last location open for booking; add or reopen another first.")
        )


@transaction.atomic
def close_location(location: Location, *, by) -> Location:
    """Close a location for booking; its appointments stay where they are."""
    require_admin(location.agency, by)
    location = _locked(location)
    if not location.active:
        return location
    _refuse_closing_the_last(location)
    location.active = False
    location.save(update_fields=["active"])
    audit.record(
        "agency.location_closed", agency=location.agency, by=by, location=str(location.public_id)
    )
    return location


@transaction.atomic
def reopen_location(location: Location, *, by) -> Location:
    require_admin(location.agency, by)
    location = _locked(location)
    if location.active:
        return location
    location.active = True
    location.save(update_fields=["active"])
    audit.record(
        "agency.location_reopened", agency=location.agency, by=by, location=str(location.public_id)
    )
    return location


def removal_obstacle(location: Location) -> str:
    """Why this location cannot be removed, or "" if nothing refers to it."""
    if location.appointments.exists():
        return _(
            "Appointments were booked at this location, so it cannot be removed; close it for "
            "booking instead."
        )
    if location.staffmember_set.exists():
        return _(
            "This location is the usual location of staff members; give them another one first."
        )
    return ""


@transaction.atomic
def remove_location(location: Location, *, by) -> None:
    """Delete a location that no appointment and no staff member refers to."""
    require_admin(location.agency, by)
    location = _locked(location)
    obstacle = removal_obstacle(location)
    if obstacle:
        raise NotAllowed(obstacle)
    if location.active:
        _refuse_closing_the_last(location)
    public_id = str(location.public_id)
    try:
        location.delete()
    except ProtectedError:  # an appointment booked there a moment ago
        raise NotAllowed(removal_obstacle(location)) from None
    audit.record("agency.location_removed", agency=location.agency, by=by, location=public_id)
