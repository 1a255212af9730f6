"""People and steps the tests share, importable from any test module."""

from django.contrib.auth import get_user_model

from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.appointments import services as appointments
from videotermin.consent import services as consent

PASSWORD = "correct horse battery staple"


def make_staff(agency: Agency, location: Location, username: str, full_name: str):
    first, _, last = full_name.partition(" ")
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, first_name=first, last_name=last
    )
    StaffMember.objects.create(user=user, agency=agency, location=location)
    return user


def interpreter_invitee(**changes) -> appointments.Invitee:
    """Olga, the interpreter Alice invites for Dana."""
    values = {
        "name": "Olga Kowalenko",
        "email": "olga@example.org",
        "role": "interpreter",
        "language": "en",
    }
    return appointments.Invitee(**{**values, **changes})


def agree(member):
    """The member agrees to the consent text in their language."""
    text = consent.current_text(member.appointment.agency, member.language)
    consent.decide(member, text, accepted=True)
    member.refresh_from_db()
    return member
