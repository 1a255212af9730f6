"""The administrator's form for an endpoint."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from videotermin.webhooks import addresses
from videotermin.webhooks.events import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=pgettext_lazy("webhooks", "URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "The address of your system that receives the events, beginning with https://."
        ),
    )
    description = forms.CharField(
        label=pgettext_lazy("webhooks", "Description"), max_length=200, required=False
    )
    event_types = forms.MultipleChoiceField(
        label=pgettext_lazy("webhooks", "Events"),
        choices=list(EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )
    active = forms.BooleanField(
        label=pgettext_lazy("webhooks", "Active"),
        required=False,
        initial=True,
        help_text=_("Events are sent only to active endpoints."),
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            addresses.check_url(url)
        except addresses.AddressRefused as refused:
            raise forms.ValidationError(refused.message) from refused
        return url
