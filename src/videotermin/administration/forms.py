"""Forms of the agency administration: they validate input; services change state."""

from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency


class ReminderHoursField(forms.Field):
    """Hours before the start, comma-separated ("24, 1"); empty sends no reminder."""

    def to_python(self, value) -> list[int]:
        text = str(value or "").strip()
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


class TextForm(forms.Form):
    """A new version of a consent text or privacy notice (consent.publishing checks the rest)."""

    title = forms.CharField(
        label=_("Title"), max_length=200, widget=forms.TextInput(attrs={"size": 60})
    )
    body = forms.CharField(
        label=_("Text"),
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 24, "cols": 80}),
        help_text=_(
            "Separate paragraphs by a blank line. Lines beginning with “- ” make a list, a line "
            "beginning with “## ” a heading. {agency} becomes the agency's name, {contact} its "
            "support contact, {retention} the days until personal data are deleted."
        ),
    )
