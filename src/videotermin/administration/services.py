"""Changes to an agency's own settings, by one of its administrators: atomic and audited."""

from django.db import transaction

from videotermin.administration.rules import apply_changes, require_admin
from videotermin.agencies import logos
from videotermin.agencies.look import check_contrast, look_of, normalise_color
from videotermin.agencies.models import Agency, Location, Logo
from videotermin.audit import services as audit

# What an administrator may change on the settings page, and nothing else of the agency.
SETTINGS = (
    "name",
    "support_phone",
    "support_email",
    "support_hours",
    "alternatives",
    "entry_lead_minutes",
    "time_zone",
    "retention_days",
    "reminder_hours",
    "require_second_factor",
)


def change_settings(agency: Agency, *, by, **values) -> Agency:
    """Change the agency's settings; the audit entry names the fields changed, not the values
    (a support address may be a person's)."""
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise ValueError(f"not an agency setting: {sorted(unknown)}")
    require_admin(agency, by)
    with transaction.atomic():
        agency = Agency.objects.select_for_update().get(pk=agency.pk)
        changed = apply_changes(agency, values)
        if not changed:
            return agency
        agency.full_clean()
        agency.save(update_fields=changed)
        audit.record("agency.settings_changed", agency=agency, by=by, fields=changed)
    return agency


# The look's fields (A2); a logo is given as checked by agencies/logos.py, or removed.
LOOK = ("display_name", "primary_color", "text_color", "logo")
KEEP_LOGO = object()


def change_look(
    owner: Agency | Location,
    *,
    by,
    primary_color: str,
    text_color: str,
    display_name: str = "",
    logo: logos.Logo | None | object = KEEP_LOGO,
) -> Agency | Location:
    """Change the look of the agency or of one of its locations (empty colours and name: the
    location takes the agency's); colours under 4.5:1 contrast are refused."""
    require_admin(owner if isinstance(owner, Agency) else owner.agency, by)
    model = type(owner)
    optional = isinstance(owner, Location)
    primary_color = normalise_color(primary_color) if primary_color or not optional else ""
    text_color = normalise_color(text_color) if text_color or not optional else ""
    with transaction.atomic():
        owner = model.objects.select_for_update().get(pk=owner.pk)
        agency = owner if isinstance(owner, Agency) else owner.agency
        values: dict[str, object] = {"primary_color": primary_color, "text_color": text_color}
        if isinstance(owner, Location):
            values["display_name"] = display_name
        changed = apply_changes(owner, values)
        effective = look_of(agency, owner) if isinstance(owner, Location) else None
        check_contrast(
            effective.primary if effective else owner.primary_color,
            effective.text if effective else owner.text_color,
        )
        old_logo = owner.logo_id
        if logo is not KEEP_LOGO:
            if isinstance(logo, logos.Logo):
                owner.logo = Logo.objects.create(
                    agency=agency,
                    data=logo.data,
                    content_type=logo.content_type,
                    digest=logo.digest,
                    width=logo.width,
                    height=logo.height,
                )
            else:
                owner.logo = None
            if owner.logo_id != old_logo:
                changed.append("logo")
        if not changed:
            return owner
        owner.save(update_fields=changed)
        if "logo" in changed and old_logo is not None:
            Logo.objects.filter(pk=old_logo).delete()
        where = {"location": str(owner.public_id)} if isinstance(owner, Location) else {}
        audit.record("agency.look_changed", agency=agency, by=by, fields=sorted(changed), **where)
    return owner
