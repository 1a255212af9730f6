"""Forms of the staff workspace: they validate input; services change state."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location


class AppointmentForm(forms.Form):
    """Book or change an appointment; times are read in the current (the agency's) time zone."""

    citizen_name = forms.CharField(label=_("Citizen's name"), max_length=200)
    citizen_email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("The invitation with the personal link is sent here."),
    )
    language = forms.ChoiceField(
        label=_("Language of the e-mails and pages"), choices=settings.LANGUAGES, initial="de"
    )
    customer_number = forms.CharField(label=_("Customer number"), max_length=40, required=False)
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none())
    starts_at = forms.DateTimeField(
        label=_("Start (date and time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=5, max_value=480, initial=30
    )

    def __init__(self, *args, agency: Agency, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        location = self.fields["location"]
        assert isinstance(location, forms.ModelChoiceField)
        location.queryset = agency.locations.order_by("name")
        self.fields["citizen_name"].widget.attrs["autocomplete"] = "off"
        self.fields["citizen_email"].widget.attrs["autocomplete"] = "off"

    def clean_starts_at(self):
        starts_at = self.cleaned_data["starts_at"]
        unchanged = self.initial.get("starts_at") == starts_at
        # A few minutes of grace: a counselor may book a consultation that starts right now.
        if not unchanged and starts_at < timezone.now() - timedelta(minutes=5):
            raise forms.ValidationError(_("The start lies in the past."))
        return starts_at
