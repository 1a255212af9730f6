"""The e-mail that invites a person to their staff account, in the language chosen for them."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from videotermin.agencies.models import StaffMember


def send_invitation(staff: StaffMember, link: str, expires_at: datetime) -> None:
    user = staff.user
    agency = staff.agency
    with translation.override(staff.language):
        context = {
            "agency": agency,
            "name": user.get_full_name(),
            "username": user.get_username(),
            "role": staff.get_role_display(),
            "link": link,
            "expires_at": timezone.localtime(expires_at, ZoneInfo(agency.time_zone)),
        }
        message = EmailMultiAlternatives(
            subject=_("Your account in the staff workspace of %(agency)s") % {"agency": agency},
            body=render_to_string("administration/email/invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(
            render_to_string("administration/email/invitation.html", context), "text/html"
        )
        message.send()
