"""`{% manage_booking_url participant as url %}`: where a person who booked the appointment
themselves can move or cancel it; "" for everyone else and once it has started."""

from django import template
from django.urls import reverse

from videotermin.booking.services import self_booking_of

register = template.Library()


@register.simple_tag
def manage_booking_url(participant) -> str:
    if participant is None or self_booking_of(participant) is None:
        return ""
    return reverse("booking:manage", args=[participant.public_id])
