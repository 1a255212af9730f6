"""Forms of the API keys' pages: they validate input; services change state."""

from django import forms
from django.utils.translation import gettext_lazy as _

from videotermin.api.models import ApiKey


class KeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which system uses the key, e.g. “Appointment system, production”."),
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=ApiKey.Scope.choices,
        initial=ApiKey.Scope.WRITE,
        widget=forms.RadioSelect,
    )


class RotateForm(forms.Form):
    overlap_hours = forms.TypedChoiceField(
        label=_("The previous secret stops working"),
        coerce=int,
        choices=[
            (0, _("at once (the secret may have leaked)")),
            (1, _("in one hour")),
            (24, _("in 24 hours")),
            (168, _("in one week")),
        ],
        initial=24,
        widget=forms.RadioSelect,
    )
