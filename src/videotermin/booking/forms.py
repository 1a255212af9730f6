"""What a person types on the public booking page."""

from django import forms
from django.utils.translation import gettext_lazy as _


class PersonForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_(
            "We send you an e-mail to confirm the appointment, and then the invitation with "
            "your personal link."
        ),
    )
    customer_number = forms.CharField(
        label=_("Customer number (if you have one)"), max_length=40, required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["customer_number"].widget.attrs["autocomplete"] = "off"
