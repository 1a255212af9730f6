"""Versioned consent texts per agency and language, and each participant's decision."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency
from videotermin.appointments.models import Member


class ConsentText(models.Model):
    """One published version of a consent text; agency None is the default for every agency."""

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, null=True, blank=True, related_name="consent_texts"
    )
    language = models.CharField(_("language"), max_length=10)
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Paragraphs separated by blank lines."))
    published_at = models.DateTimeField(_("published"), auto_now_add=True)

    class Meta:
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "language", "version"], name="consent_text_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version} ({self.language})"


class ConsentDecision(models.Model):
    """What a member answered to which version, and when. Nothing else is recorded."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consent_decisions")
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="decisions")
    accepted = models.BooleanField()
    decided_at = models.DateTimeField(auto_now_add=True)
    # When an agreement was withdrawn; the decision itself stays as proof of what was agreed.
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("consent decision")
        verbose_name_plural = _("consent decisions")

    def __str__(self) -> str:
        return f"{self.member}: {'accepted' if self.accepted else 'declined'} {self.text}"
