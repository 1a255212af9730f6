"""Changes to an agency's own settings, by one of its administrators: atomic and audited."""

from django.db import transaction

from videotermin.agencies.models import Agency
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
    with transaction.atomic():
        agency = Agency.objects.select_for_update().get(pk=agency.pk)
        changed = sorted(name for name, value in values.items() if getattr(agency, name) != value)
        if not changed:
            return agency
        for name in changed:
            setattr(agency, name, values[name])
        agency.full_clean()
        agency.save(update_fields=changed)
        audit.record("agency.settings_changed", agency=agency, by=by, fields=changed)
    return agency
