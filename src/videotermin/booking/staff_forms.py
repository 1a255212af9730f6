"""Forms of the booking's staff pages: they validate input; publishing.py changes state."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.booking import publishing

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class _CounselorChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


def _no_users():
    return get_user_model().objects.none()


def _counselors(agency: Agency):
    return (
        get_user_model()
        .objects.filter(staff__agency=agency, is_active=True)
        .order_by("last_name", "first_name", "username")
    )


def _choices(form: forms.Form, name: str, queryset) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


class ScheduleForm(forms.Form):
    """Where and how slots are offered; administrators also choose for whom."""

    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none())
    counselor = _CounselorChoice(
        label=_("Counselor"),
        queryset=_no_users(),
        required=False,
        empty_label=_("All counselors of the location"),
        help_text=_(
            "Empty: every active counselor whose usual location this is holds these hours; a "
            "booked slot goes to one who is free."
        ),
    )
    slot_minutes = forms.IntegerField(
        label=_("Length of a slot (minutes)"),
        min_value=publishing.MIN_SLOT_MINUTES,
        max_value=publishing.MAX_SLOT_MINUTES,
        initial=30,
    )
    lead_hours = forms.IntegerField(
        label=_("Lead time (hours)"),
        min_value=0,
        max_value=publishing.MAX_LEAD_HOURS,
        initial=24,
        help_text=_("A slot can be booked until this many hours before it starts."),
    )
    horizon_days = forms.IntegerField(
        label=_("Offered ahead (days)"),
        min_value=1,
        initial=28,
        help_text=_("How far ahead slots are offered."),
    )
    active = forms.BooleanField(label=_("Offered for booking"), required=False, initial=True)

    def __init__(self, *args, agency: Agency, administrator: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "location", agency.locations.bookable().order_by("name"))
        if administrator:
            _choices(self, "counselor", _counselors(agency))
        else:
            del self.fields["counselor"]
        horizon = self.fields["horizon_days"]
        most = min(publishing.MAX_HORIZON_DAYS, settings.BOOKING_HORIZON_DAYS)
        horizon.validators.append(MaxValueValidator(most))
        horizon.widget.attrs["max"] = most


class HoursForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=WEEKDAYS, coerce=int)
    starts = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))

    def clean(self):
        data = super().clean() or {}
        if data.get("starts") and data.get("ends") and data["starts"] >= data["ends"]:
            raise forms.ValidationError(_("The hours must end after they start."))
        return data


class ClosureForm(forms.Form):
    first_day = forms.DateField(
        label=_("First closed day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    last_day = forms.DateField(
        label=_("Last closed day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty for a single day."),
    )

    def clean(self):
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            raise forms.ValidationError(_("The last day must not lie before the first."))
        return data


class ExtraHoursForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    starts = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))

    def clean(self):
        data = super().clean() or {}
        if data.get("starts") and data.get("ends") and data["starts"] >= data["ends"]:
            raise forms.ValidationError(_("The hours must end after they start."))
        return data


class InvitationForm(forms.Form):
    """A single-use booking link for one person."""

    name = forms.CharField(label=_("Citizen's name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"))
    language = forms.ChoiceField(
        label=_("Language of the e-mails and pages"), choices=settings.LANGUAGES, initial="de"
    )
    customer_number = forms.CharField(label=_("Customer number"), max_length=40, required=False)
    location = forms.ModelChoiceField(
        label=_("Location"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=_("Any location"),
    )
    counselor = _CounselorChoice(
        label=_("Counselor"), queryset=_no_users(), required=False, empty_label=_("Any counselor")
    )
    valid_days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=90, initial=14
    )

    def __init__(self, *args, agency: Agency, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "location", agency.locations.bookable().order_by("name"))
        _choices(
            self, "counselor", _counselors(agency).filter(staff__role=StaffMember.Role.COUNSELOR)
        )
        self.fields["name"].widget.attrs["autocomplete"] = "off"
        self.fields["email"].widget.attrs["autocomplete"] = "off"
