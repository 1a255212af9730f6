"""Show or set an agency's licence: counselor seats, consultations at the same time, people in
one consultation. `none` lifts a limit; an agency without any limit has no licence."""

from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videotermin.agencies.models import Agency
from videotermin.resources import licences, services


def limit(value: str) -> int | None:
    if value.lower() in ("none", "unlimited"):
        return None
    try:
        number = int(value)
    except ValueError:
        raise ArgumentTypeError(f"a whole number or 'none', not {value!r}") from None
    if number < 0:
        raise ArgumentTypeError("a limit cannot be negative")
    return number


def _shown(value: int | None) -> str:
    return "no limit" if value is None else str(value)


class Command(BaseCommand):
    help = "Show or set an agency's licence (docs/operations.md, Licences)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("agency", help="the agency's short name")
        parser.add_argument(
            "--seats",
            type=limit,
            default=services.UNCHANGED,
            help="active staff accounts that hold consultations (every role but analyst)",
        )
        parser.add_argument(
            "--concurrent",
            type=limit,
            default=services.UNCHANGED,
            help="consultations running at the same time",
        )
        parser.add_argument(
            "--group",
            type=limit,
            default=services.UNCHANGED,
            help="people in one consultation, the counselor included (2 to 6)",
        )

    def handle(self, *args, agency: str, seats, concurrent, group, **options) -> None:
        found = Agency.objects.filter(slug=agency).first()
        if found is None:
            raise CommandError(f"There is no agency with the short name {agency!r}.")
        changes = (seats, concurrent, group)
        if any(value is not services.UNCHANGED for value in changes):
            try:
                services.set_licence(
                    found, by=None, seats=seats, concurrent=concurrent, group=group
                )
            except services.Invalid as error:
                raise CommandError(str(error)) from None
            self.stdout.write(self.style.SUCCESS(f"Licence of {found.slug} set."))
        report = licences.report(found.pk)
        if report.licence is None:
            self.stdout.write(f"{found.slug} has no licence: nothing is limited.")
        rows = (
            ("counselor seats", report.seats, "in use"),
            ("consultations at the same time", report.concurrent, "running now"),
            ("people in one consultation", report.group, "most in one not yet over"),
        )
        for label, use, what in rows:
            line = f"{label + ':':<32} {_shown(use.limit):<10} ({what}: {use.used})"
            if use.over:
                line += "  above the licence: nothing more is allowed until below it"
            self.stdout.write(line)
