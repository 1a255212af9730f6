"""Delete now what the consent text promises to delete (the worker does it every hour)."""

from django.core.management.base import BaseCommand

from videotermin.privacy.services import purge


class Command(BaseCommand):
    help = (
        "Delete the personal data of appointments that ended more than their agency's retention "
        "ago (at most 14 days), old sign-in records, expired sessions and old demo e-mails."
    )

    def handle(self, *args, **options) -> None:
        report = purge()
        self.stdout.write(
            f"{report.total_appointments} appointments with {report.total_members} members "
            f"deleted ({report.facts_written} statistical facts written), "
            f"{report.sign_in_records} sign-in records, {report.sessions} sessions, "
            f"{report.emails} e-mails."
        )
