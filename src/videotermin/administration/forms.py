"""Forms of the agency administration: they validate input; services change state."""

from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency


class ReminderHoursField(forms.CharField):
    """Hours before the start, comma-separated ("24, 1"); empty sends no reminder."""

    def to_python(self, value) -> list[int]:
        text = super().to_python(value)
        hours: list[int] = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            if not part.isdigit() or not 1 <= int(part) <= 24 * 14:
                raise forms.ValidationError(
                    _("Give whole hours between 1 and 336, separated by commas, e.g. “24, 1”.")
                )
            hours.append(int(part))
        if len(hours) > 5:
            raise forms.ValidationError(_("At most five reminders."))
        return sorted(set(hours), reverse=True)

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(hour) for hour in value)
        return value


class SettingsForm(forms.ModelForm):
    reminder_hours = ReminderHoursField(
        label=_("Reminders (hours before the start)"),
        required=False,
        help_text=_("Comma-separated, e.g. “24, 1”. Leave empty to send no reminders."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=[(zone, zone) for zone in sorted(available_timezones())]
    )

    class Meta:
        model = Agency
        fields = [
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
        ]
        help_texts = {
            "retention_days": _(
                "Names, addresses, links and device data of an appointment are deleted this "
                "many days after it ended. The consent text promises 14 at most."
            ),
        }
