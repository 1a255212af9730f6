"""Reading the e-mails the SMTP sink received, as a person's mail program would."""

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from django.utils import timezone

from videotermin.agencies.models import Agency


def read_like_a_citizen(envelope) -> EmailMessage:
    """The e-mail as a mail program sees it: parts, attachments, decoded text."""
    return message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)


def personal_link_in(message: EmailMessage) -> str:
    """The link the person clicks in the HTML part; the text part must carry the same."""
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    links = set(re.findall(r'href="(http://127\.0\.0\.1:\d+/j/[\w-]+/)"', html))
    assert len(links) == 1, links
    [link] = links
    assert link in text
    return link


def local(moment, agency: Agency):
    return timezone.localtime(moment, ZoneInfo(agency.time_zone))
