"""Forms of the agency administration: they validate input; services change state."""

from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from videotermin.administration import services
from videotermin.agencies import logos, look
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
        # Exactly what the service lets an administrator change.
        fields = list(services.SETTINGS)
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


class ColorInput(forms.TextInput):
    input_type = "color"


class LookForm(forms.Form):
    """The look of the agency, or of one location (`for_location`: it may keep the agency's)."""

    display_name = forms.CharField(
        label=_("Name shown to citizens"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to show the agency's name."),
    )
    own_colors = forms.BooleanField(
        label=_("Own colours for this location"),
        required=False,
        help_text=_("Otherwise appointments here show the agency's colours."),
    )
    primary_color = forms.CharField(
        label=_("Primary colour"),
        widget=ColorInput,
        help_text=_(
            "The page header, buttons and links. Links on the white page need a contrast of at "
            "least 4.5:1."
        ),
    )
    text_color = forms.CharField(
        label=_("Text colour on the primary colour"),
        widget=ColorInput,
        help_text=_("The agency's name in the header and the text of buttons; at least 4.5:1."),
    )
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/svg+xml,.png,.svg"}),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(self, *args, for_location: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.for_location = for_location
        self.fields["logo"].help_text = gettext(
            "PNG (at most %(png)d KB) or SVG (at most %(svg)d KB), at most %(pixels)d × "
            "%(pixels)d pixels; shown at most %(height)d pixels high. SVG logos are not shown "
            "in e-mails, as many mail programs cannot display them."
        ) % {
            "png": logos.PNG_MAX_BYTES // 1024,
            "svg": logos.SVG_MAX_BYTES // 1024,
            "pixels": logos.MAX_PIXELS,
            "height": look.LOGO_HEIGHT,
        }
        if not for_location:
            del self.fields["display_name"]
            del self.fields["own_colors"]

    def clean_primary_color(self) -> str:
        return look.normalise_color(self.cleaned_data["primary_color"])

    def clean_text_color(self) -> str:
        return look.normalise_color(self.cleaned_data["text_color"])

    def clean_logo(self) -> logos.Logo | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        # Read no more than the largest logo allowed, and one byte to tell it is too large.
        return logos.read_logo(upload.read(max(logos.PNG_MAX_BYTES, logos.SVG_MAX_BYTES) + 1))

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        uses_own = not self.for_location or cleaned.get("own_colors")
        if uses_own and "primary_color" in cleaned and "text_color" in cleaned:
            for field, problem in look.contrast_problems(
                cleaned["primary_color"], cleaned["text_color"]
            ).items():
                self.add_error(field, problem)
        return cleaned

    def look_values(self) -> dict:
        """What services.change_look takes; the logo only if it changes."""
        cleaned = self.cleaned_data
        uses_own = not self.for_location or cleaned["own_colors"]
        values: dict = {
            "primary_color": cleaned["primary_color"] if uses_own else "",
            "text_color": cleaned["text_color"] if uses_own else "",
        }
        if self.for_location:
            values["display_name"] = cleaned["display_name"].strip()
        if cleaned.get("logo"):
            values["logo"] = cleaned["logo"]
        elif cleaned.get("remove_logo"):
            values["logo"] = None
        return values
