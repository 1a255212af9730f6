"""Versioned consent texts and privacy notices per agency and language, and each participant's
decision."""

import hashlib

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.agencies.models import Agency
from videotermin.appointments.models import Member


class PublishedTextError(Exception):
    """A published version was to be changed or deleted: it is what people agreed to or read."""


class ConsentText(models.Model):
    """One version of an agency's consent text or privacy notice in one language.

    Agency None is the shipped default for every agency. A draft has neither version nor
    publication time; publishing gives it the next version, and from then on it never changes.
    """

    class Kind(models.TextChoices):
        CONSENT = "consent", _("consent text")
        PRIVACY = "privacy", _("privacy notice")

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, null=True, blank=True, related_name="consent_texts"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CONSENT)
    language = models.CharField(_("language"), max_length=10)
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Paragraphs separated by blank lines."))
    # A row made without saying otherwise is published (the shipped defaults); drafts say None.
    published_at = models.DateTimeField(_("published"), null=True, blank=True, default=timezone.now)

    class Meta:
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "kind", "language", "version"], name="text_version_unique"
            ),
            models.UniqueConstraint(
                fields=["agency", "kind", "language"],
                condition=models.Q(published_at__isnull=True),
                name="text_one_draft",
            ),
            models.CheckConstraint(
                condition=models.Q(published_at__isnull=True, version__isnull=True)
                | models.Q(published_at__isnull=False, version__isnull=False),
                name="text_published_with_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version or '-'} ({self.kind}, {self.language})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and self._stored_published():
            raise PublishedTextError(f"version {self.version} is published and cannot change")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_published():
            raise PublishedTextError(f"version {self.version} is published and cannot go")
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.published_at is None

    @property
    def digest(self) -> str:
        """What the text says, in short: publishing checks it is what the administrator saw."""
        return hashlib.sha256(f"{self.title}\0{self.body}".encode()).hexdigest()[:32]

    def _stored_published(self) -> bool:
        # The stored row decides, not this instance: it may have been changed in memory.
        return type(self).objects.filter(pk=self.pk, published_at__isnull=False).exists()


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
