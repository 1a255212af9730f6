"""Set up a demo agency, a counselor, an administrator and an appointment (a citizen and an
interpreter) in three minutes."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.appointments import emails
from videotermin.appointments.models import Appointment, Member
from videotermin.appointments.services import Invitee, create_appointment

USERNAME = "berater"
ADMIN_USERNAME = "verwaltung"
CITIZEN_EMAIL = "erika@example.org"
INTERPRETER_EMAIL = "olena@example.org"


class Command(BaseCommand):
    help = (
        "Create a demo agency, counselor and administrator; book a citizen and an interpreter "
        "in 3 minutes."
    )

    def handle(self, *args, **options) -> None:
        agency, _ = Agency.objects.get_or_create(
            slug="demo",
            defaults={
                "name": "Agentur für Arbeit Musterstadt",
                "support_phone": "0800 4 555500",
                "support_email": "support@musterstadt.example",
                "support_hours": "Mo–Fr 8–18 Uhr",
                "alternatives": "Telefon 0800 4 555500 oder persönlich in der Hauptstraße 1, "
                "Musterstadt (Mo–Fr 8–12 Uhr).",
            },
        )
        location, _ = Location.objects.get_or_create(
            agency=agency, name="Musterstadt Mitte", defaults={"address": "Hauptstraße 1"}
        )
        user, _ = get_user_model().objects.get_or_create(
            username=USERNAME, defaults={"first_name": "Bea", "last_name": "Berater"}
        )
        # A fresh password each run, so whoever ran the demo last always knows it.
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_active = True
        user.save()
        StaffMember.objects.update_or_create(
            user=user, defaults={"agency": agency, "location": location}
        )
        admin, _ = get_user_model().objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"first_name": "Vera", "last_name": "Verwaltung"}
        )
        admin_password = secrets.token_urlsafe(12)
        admin.set_password(admin_password)
        admin.is_active = True
        admin.save()
        StaffMember.objects.update_or_create(
            user=admin,
            defaults={"agency": agency, "location": location, "role": StaffMember.Role.ADMIN},
        )
        # Earlier runs' appointments would only clutter the day view; one fresh one is enough.
        Appointment.objects.filter(agency=agency, members__email=CITIZEN_EMAIL).delete()
        booking = create_appointment(
            by=user,
            location=location,
            starts_at=timezone.now() + timedelta(minutes=3),
            citizen=Invitee(name="Erika Mustermann", email=CITIZEN_EMAIL, language="de"),
            extras=[
                Invitee(
                    name="Olena Koval",
                    email=INTERPRETER_EMAIL,
                    role=Member.Role.INTERPRETER,
                    language="en",
                )
            ],
        )

        out = self.stdout
        out.write(self.style.SUCCESS("Demo ready."))
        out.write("")
        out.write("Counselor (staff workspace)")
        out.write(f"  sign in:   {settings.SITE_URL}{reverse('staff:login')}")
        out.write(f"  username:  {USERNAME}")
        out.write(f"  password:  {password}")
        out.write("")
        out.write("Administrator (staff workspace and agency administration)")
        out.write(f"  sign in:   {settings.SITE_URL}{reverse('staff:login')}")
        out.write(f"  username:  {ADMIN_USERNAME}")
        out.write(f"  password:  {admin_password}")
        out.write("")
        out.write("Citizen Erika Mustermann (appointment starts in 3 minutes)")
        out.write(f"  personal link: {emails.personal_link(booking.token)}")
        for member, token in booking.extras:
            out.write("")
            out.write(f"{capfirst(member.get_role_display())} {member.name}")
            out.write(f"  personal link: {emails.personal_link(token)}")
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            out.write("")
            out.write(f"E-mails are written to: {settings.EMAIL_FILE_PATH}")
