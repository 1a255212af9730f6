"""Forms of the locations and staff sections: they validate input; services change state."""

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location, StaffMember


class LocationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)


def _location_field(field: forms.Field, agency: Agency, current: Location | None) -> None:
    # Closed locations are offered to nobody new; whoever has one already keeps it.
    assert isinstance(field, forms.ModelChoiceField)
    keep = Q(pk=current.pk) if current is not None else Q(pk__in=[])
    field.queryset = agency.locations.filter(Q(active=True) | keep).order_by("name")


ROLE_HELP = _(
    "Counselors hold consultations. Administrators also run the agency. Analysts see the "
    "anonymous statistics only: no appointments and no personal data."
)


class InviteForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    # The address is also the user name, which holds 150 characters.
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=150,
        help_text=_("The invitation goes here; it is also the user name for signing in."),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=StaffMember.Role.choices,
        initial=StaffMember.Role.COUNSELOR,
        help_text=ROLE_HELP,
    )
    location = forms.ModelChoiceField(
        label=_("Usual location"), queryset=Location.objects.none(), required=False
    )
    language = forms.ChoiceField(
        label=_("Language of the invitation"), choices=settings.LANGUAGES, initial="de"
    )

    def __init__(self, *args, agency: Agency, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _location_field(self.fields["location"], agency, None)
        for name in ("first_name", "last_name", "email"):
            self.fields[name].widget.attrs["autocomplete"] = "off"


class StaffForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=StaffMember.Role.choices, help_text=ROLE_HELP)
    location = forms.ModelChoiceField(
        label=_("Usual location"), queryset=Location.objects.none(), required=False
    )

    def __init__(self, *args, staff: StaffMember, **kwargs) -> None:
        kwargs.setdefault("initial", {"role": staff.role, "location": staff.location_id})
        super().__init__(*args, **kwargs)
        _location_field(self.fields["location"], staff.agency, staff.location)
