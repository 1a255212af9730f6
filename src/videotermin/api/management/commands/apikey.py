"""API keys of an agency for operators: create, list, rotate, revoke.

The whole key is printed once, by create and rotate, and never again: only its hash is kept.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videotermin.administration.rules import NotAllowed
from videotermin.agencies.models import Agency
from videotermin.api import services
from videotermin.api.models import ApiKey


class Command(BaseCommand):
    help = "Create, list, rotate and revoke an agency's API keys (docs/api.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a key and print it, this once")
        create.add_argument("agency", help="the agency's short name")
        create.add_argument("name", help="which system uses the key")
        create.add_argument("--scope", choices=ApiKey.Scope.values, default=ApiKey.Scope.WRITE)
        listing = actions.add_parser("list", help="list an agency's keys (never their secrets)")
        listing.add_argument("agency", help="the agency's short name")
        rotate = actions.add_parser("rotate", help="give a key a new secret and print it")
        rotate.add_argument("key", help="the key's id (vtk_<id>_…)")
        rotate.add_argument(
            "--overlap-hours",
            type=int,
            default=None,
            help="how long the previous secret keeps working (default: "
            "VIDEOTERMIN_API_KEY_OVERLAP_HOURS; 0: it stops at once)",
        )
        revoke = actions.add_parser("revoke", help="revoke a key for good")
        revoke.add_argument("key", help="the key's id (vtk_<id>_…)")

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except NotAllowed as error:
            raise CommandError(str(error)) from None

    def _agency(self, slug: str) -> Agency:
        agency = Agency.objects.filter(slug=slug).first()
        if agency is None:
            raise CommandError(f"There is no agency with the short name {slug!r}.")
        return agency

    def _key(self, public_id: str) -> ApiKey:
        public_id = public_id.removeprefix("vtk_").split("_")[0]
        key = ApiKey.objects.select_related("agency").filter(public_id=public_id).first()
        if key is None:
            raise CommandError(f"There is no API key {public_id!r}.")
        return key

    def _create(self, options: dict) -> None:
        agency = self._agency(options["agency"])
        issued = services.create_key(agency, by=None, name=options["name"], scope=options["scope"])
        self.stdout.write(
            self.style.SUCCESS(f"Key {issued.key.public_id} ({issued.key.scope}) created.")
        )
        self.stdout.write("Store it now; it is not shown again:")
        self.stdout.write(issued.value)

    def _list(self, options: dict) -> None:
        agency = self._agency(options["agency"])
        for key in ApiKey.objects.filter(agency=agency).order_by("revoked_at", "name"):
            if key.revoked_at:
                state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
            elif key.previous_valid_until:
                state = f"rotated, previous secret until {key.previous_valid_until:%Y-%m-%d %H:%M}"
            else:
                state = "working"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            self.stdout.write(
                f"{key.public_id}  {key.scope:<5}  {state:<45}  last used {used}  {key.name}"
            )

    def _rotate(self, options: dict) -> None:
        key = self._key(options["key"])
        issued = services.rotate_key(key, by=None, overlap_hours=options["overlap_hours"])
        until = issued.key.previous_valid_until
        self.stdout.write(self.style.SUCCESS(f"Key {key.public_id} rotated."))
        if until:
            self.stdout.write(f"The previous secret works until {until:%Y-%m-%d %H:%M %Z}.")
        else:
            self.stdout.write("The previous secret works no more.")
        self.stdout.write("Store the new key now; it is not shown again:")
        self.stdout.write(issued.value)

    def _revoke(self, options: dict) -> None:
        key = services.revoke_key(self._key(options["key"]), by=None)
        self.stdout.write(self.style.SUCCESS(f"Key {key.public_id} ({key.name}) is revoked."))
