"""Forms of the staff workspace: they validate input; services change state."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location
from videotermin.appointments.models import MAX_MEMBERS, Member
from videotermin.appointments.services import Invitee

# Besides the host and the citizen, this many people can be invited by link.
MAX_EXTRAS = MAX_MEMBERS - 2


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
        # Closed locations take no new bookings; an appointment already there keeps its own.
        current = self.initial.get("location")
        keep = Q(pk=current.pk) if isinstance(current, Location) else Q(pk__in=[])
        location.queryset = agency.locations.filter(Q(active=True) | keep).order_by("name")
        self.fields["citizen_name"].widget.attrs["autocomplete"] = "off"
        self.fields["citizen_email"].widget.attrs["autocomplete"] = "off"

    def clean_starts_at(self):
        starts_at = self.cleaned_data["starts_at"]
        before = self.initial.get("starts_at")
        # The form shows minutes: a start booked with seconds comes back without them.
        if before is not None and before.replace(second=0, microsecond=0) == starts_at:
            starts_at = before
        unchanged = before == starts_at
        # A few minutes of grace: a counselor may book a consultation that starts right now.
        if not unchanged and starts_at < timezone.now() - timedelta(minutes=5):
            raise forms.ValidationError(_("The start lies in the past."))
        if starts_at > timezone.now() + timedelta(days=settings.BOOKING_HORIZON_DAYS):
            raise forms.ValidationError(_("The start lies too far in the future."))
        return starts_at

    def citizen(self) -> Invitee:
        data = self.cleaned_data
        return Invitee(
            name=data["citizen_name"],
            email=data["citizen_email"],
            language=data["language"],
            customer_number=data["customer_number"],
        )

    def appointment_fields(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in ("location", "starts_at", "duration_minutes")}

    def citizen_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["citizen_name"],
            "email": data["citizen_email"],
            "language": data["language"],
            "customer_number": data["customer_number"],
        }


class InviteeForm(forms.Form):
    """One more person invited by link: interpreter, guardian, legal counsel, trusted person."""

    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(role.value, role.label) for role in Member.EXTRA_ROLES],
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"))
    language = forms.ChoiceField(
        label=_("Language of the e-mails and pages"), choices=settings.LANGUAGES, initial="de"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("name", "email"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def invitee(self) -> Invitee:
        data = self.cleaned_data
        return Invitee(
            role=data["role"], name=data["name"], email=data["email"], language=data["language"]
        )


class OptionalInviteeForm(InviteeForm):
    """A row of the booking form's extra participants; an empty row invites nobody."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.empty_permitted = True
        self.use_required_attribute = False

    def has_changed(self) -> bool:
        # A role and a language are always chosen; without a name or address nobody is meant.
        return any(
            str(self.data.get(self.add_prefix(name), "")).strip() for name in ("name", "email")
        )


ExtrasFormSet = forms.formset_factory(
    OptionalInviteeForm, extra=2, max_num=MAX_EXTRAS, validate_max=True
)


class MemberForm(forms.Form):
    """Correct an invited person's details; a new address ends the links sent to the old one."""

    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"))
    language = forms.ChoiceField(
        label=_("Language of the e-mails and pages"), choices=settings.LANGUAGES
    )
