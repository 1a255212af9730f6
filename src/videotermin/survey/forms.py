from django import forms
from django.utils.translation import gettext_lazy as _

from videotermin.survey.models import Answer, NextMode


class SurveyForm(forms.Form):
    """The three questions of J13; every one may stay unanswered."""

    easy_to_use = forms.ChoiceField(
        label=_("Was the video consultation easy to use?"),
        choices=Answer.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    would_recommend = forms.ChoiceField(
        label=_("Would you recommend video consultations to others?"),
        choices=Answer.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    next_mode = forms.ChoiceField(
        label=_("How would you like to hold your next consultation?"),
        choices=NextMode.choices,
        required=False,
        widget=forms.RadioSelect,
    )
