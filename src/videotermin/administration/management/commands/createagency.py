"""Create an agency with its first location; `addstaff --admin` then invites its administrator."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from videotermin.administration import locations
from videotermin.agencies.models import Agency
from videotermin.audit import services as audit


class Command(BaseCommand):
    help = "Create an agency (tenant) with its first location."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="short name, e.g. musterstadt")
        parser.add_argument("name", help='full name, e.g. "Agentur für Arbeit Musterstadt"')
        parser.add_argument("--location", required=True, help="name of the first location")
        parser.add_argument("--address", default="", help="address of the first location")

    def handle(self, *args, slug: str, name: str, location: str, address: str, **options):
        if Agency.objects.filter(slug=slug).exists():
            raise CommandError(f"An agency with the short name {slug!r} exists already.")
        agency = Agency(slug=slug, name=name)
        try:
            agency.full_clean()
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        with transaction.atomic():
            agency.save()
            audit.record("agency.created", agency=agency)
            locations.add_location(agency, by=None, name=location, address=address)
        self.stdout.write(self.style.SUCCESS(f"Agency {slug} created."))
        self.stdout.write(
            f"Invite its first administrator: manage.py addstaff {slug} EMAIL "
            "--first-name FIRST --last-name LAST --admin"
        )
