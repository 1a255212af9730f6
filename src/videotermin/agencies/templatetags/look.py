"""The agency's look in templates: `{% page_look as agency_look %}` finds it in the context."""

from django import template

from videotermin.agencies.look import Look, look_of
from videotermin.agencies.models import Agency

register = template.Library()


@register.simple_tag(takes_context=True)
def page_look(context) -> Look | None:
    """The look of the appointment's location and agency, or of the agency; none elsewhere."""
    appointment = context.get("appointment")
    if appointment is not None and hasattr(appointment, "agency"):
        return look_of(appointment.agency, appointment.location)
    agency = context.get("agency")
    if isinstance(agency, Agency):
        return look_of(agency)
    return None
