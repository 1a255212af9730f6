"""Booking links through the integration API: the agency's appointment system issues a
person's single-use link to book a first video consultation themselves (J14)."""

from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from pydantic import Field

from videotermin.api.auth import write_key
from videotermin.api.endpoints import (
    CHANGE_ERRORS,
    IDEMPOTENCY_KEY,
    _caller,
    _counselor,
    _location,
    _once,
    _response,
)
from videotermin.api.problems import Problem, invalid
from videotermin.api.schemas import CustomerNumber, Email, Id, In, Language, Name, problems
from videotermin.appointments.services import NotAllowed
from videotermin.booking import services

router = Router(tags=["booking links"])


class BookingLinkIn(In):
    name: Name
    email: Email
    language: Language = Language("de")  # type: ignore[assignment]
    customer_number: CustomerNumber = ""
    location: Id | None = Field(None, description="Offer the free times of this location only.")
    counselor: Id | None = Field(None, description="Offer the free times of this counselor only.")
    valid_days: int | None = Field(None, ge=1, le=90, description="How long the link works.")


class BookingLinkOut(Schema):
    id: UUID
    link: str = Field(description="Only in this answer: only its hash is kept.")
    expires_at: datetime


@router.post(
    "/booking-links",
    auth=write_key,
    response={201: BookingLinkOut, **problems(*CHANGE_ERRORS)},
    summary="Issue a booking link",
)
def issue_booking_link(
    request: HttpRequest, body: BookingLinkIn, idempotency_key: str = IDEMPOTENCY_KEY
) -> HttpResponse:
    """A single-use link with which the person chooses a free time and books it; they get the
    invitation to the video consultation then. Send it to them yourself (no e-mail is sent)."""
    caller = _caller(request)

    def issue() -> HttpResponse:
        location = _location(caller, body.location, "body.location") if body.location else None
        counselor = _counselor(caller, body.counselor, "body.counselor") if body.counselor else None
        try:
            invitation, token = services.issue_booking_invitation(
                caller.agency,
                by=caller.actor,
                location=location,
                counselor=counselor,
                language=body.language.value,
                name=body.name,
                email=body.email,
                customer_number=body.customer_number,
                valid_days=body.valid_days,
            )
        except NotAllowed as error:
            raise Problem("conflict", str(error)) from None
        except ValueError:
            raise invalid("body", _("These details do not make a booking link.")) from None
        link = settings.SITE_URL + reverse("booking:invitation_link", args=[token])
        data = {"id": invitation.public_id, "link": link, "expires_at": invitation.expires_at}
        return _response(BookingLinkOut, data, status=201)

    return _once(request, idempotency_key, issue)
