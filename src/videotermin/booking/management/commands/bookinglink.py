"""Issue a single-use booking link from the command line, for an appointment system that does
not call the API yet: the link is printed once and never stored (only its hash)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from videotermin.agencies.models import Agency, StaffMember
from videotermin.appointments.services import NotAllowed
from videotermin.booking.services import issue_booking_invitation


class Command(BaseCommand):
    help = "Issue a single-use self-service booking link for one person and print it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("agency", help="the agency's short name")
        parser.add_argument("email", help="the person's e-mail address (the invitation goes there)")
        parser.add_argument("--name", required=True, help="the person's name")
        parser.add_argument(
            "--language", default="de", choices=[code for code, _name in settings.LANGUAGES]
        )
        parser.add_argument("--customer-number", default="")
        parser.add_argument("--location", help="offer only this location's hours (its name)")
        parser.add_argument("--counselor", help="offer only this counselor's hours (user name)")
        parser.add_argument("--days", type=int, help="how long the link works (default: setting)")

    def handle(self, *args, **options) -> None:
        agency = Agency.objects.filter(slug=options["agency"]).first()
        if agency is None:
            raise CommandError(f"There is no agency with the short name {options['agency']!r}.")
        location = counselor = None
        if options["location"]:
            location = agency.locations.filter(name=options["location"]).first()
            if location is None:
                raise CommandError(f"The agency has no location {options['location']!r}.")
        if options["counselor"]:
            staff = (
                StaffMember.objects.filter(agency=agency, user__username=options["counselor"])
                .select_related("user")
                .first()
            )
            if staff is None:
                raise CommandError(f"The agency has no staff member {options['counselor']!r}.")
            counselor = staff.user
        try:
            invitation, token = issue_booking_invitation(
                agency,
                by=None,
                location=location,
                counselor=counselor,
                language=options["language"],
                name=options["name"],
                email=options["email"],
                customer_number=options["customer_number"],
                valid_days=options["days"],
            )
        except (NotAllowed, ValueError) as error:
            raise CommandError(str(error)) from None
        link = settings.SITE_URL + reverse("booking:invitation_link", args=[token])
        self.stdout.write(link)
        self.stderr.write(f"Valid once, until {invitation.expires_at:%Y-%m-%d %H:%M %Z}.")
