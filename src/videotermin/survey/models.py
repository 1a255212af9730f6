"""Anonymous survey answers (J13): no link to an appointment, a participant or a time of day."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency, Location


class Answer(models.TextChoices):
    YES = "yes", _("Yes")
    PARTLY = "partly", _("Partly")
    NO = "no", _("No")


class NextMode(models.TextChoices):
    VIDEO = "video", _("By video")
    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("By phone")
    NO_PREFERENCE = "none", _("No preference")


class SurveyResponse(models.Model):
    # Only the agency, the location and the day: enough for statistics, too coarse to find the
    # consultation (the statistics show no group of fewer than five answers).
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="survey_responses")
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    day = models.DateField()
    easy_to_use = models.CharField(max_length=10, choices=Answer.choices, blank=True)
    would_recommend = models.CharField(max_length=10, choices=Answer.choices, blank=True)
    next_mode = models.CharField(max_length=10, choices=NextMode.choices, blank=True)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")

    def __str__(self) -> str:
        return f"{self.agency} {self.day}"
