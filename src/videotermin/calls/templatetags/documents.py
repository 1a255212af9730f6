"""The document limit for the room pages' chat and documents panel (calls/_chat.html)."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def max_document_mb() -> int:
    """Return the largest document, in MB, that a room page may send or accept."""
    return settings.MAX_DOCUMENT_MB
