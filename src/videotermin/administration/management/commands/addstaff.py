"""Invite a staff member to an agency from the command line: the first administrator of a new
agency, or a new one for an agency whose administrators are all gone."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from videotermin.administration import accounts
from videotermin.administration.rules import NotAllowed
from videotermin.agencies.models import Agency, StaffMember


class Command(BaseCommand):
    help = "Invite a staff member (with --admin: an administrator) to an agency by e-mail."

    def add_arguments(self, parser) -> None:
        parser.add_argument("agency", help="the agency's short name")
        parser.add_argument("email", help="where the invitation goes; also the user name")
        parser.add_argument("--first-name", required=True)
        parser.add_argument("--last-name", required=True)
        role = parser.add_mutually_exclusive_group()
        role.add_argument("--admin", action="store_true", help="as an administrator")
        role.add_argument(
            "--analyst", action="store_true", help="as an analyst (the statistics only)"
        )
        parser.add_argument("--location", help="name of the usual location")
        parser.add_argument("--language", default="de", choices=["de", "en"])
        parser.add_argument(
            "--print-link",
            action="store_true",
            help="also print the set-password link (when e-mail does not reach the person yet)",
        )

    def handle(self, *args, **options) -> None:
        agency = Agency.objects.filter(slug=options["agency"]).first()
        if agency is None:
            raise CommandError(f"There is no agency with the short name {options['agency']!r}.")
        location = None
        if options["location"]:
            location = agency.locations.filter(name=options["location"]).first()
            if location is None:
                raise CommandError(f"The agency has no location {options['location']!r}.")
        role = StaffMember.Role.COUNSELOR
        if options["admin"]:
            role = StaffMember.Role.ADMIN
        elif options["analyst"]:
            role = StaffMember.Role.ANALYST
        try:
            staff = accounts.invite(
                agency,
                by=None,
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
                role=role,
                location=location,
                language=options["language"],
            )
        except (NotAllowed, ValidationError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Invitation sent to {staff.user.email} (user name: {staff.user}).")
        )
        if options["print_link"]:
            self.stdout.write(f"Set-password link: {accounts.invitation_link(staff)}")
