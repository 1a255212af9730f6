"""Make sure every periodic job (deletion, reminders) has exactly one pending run.

Run at every start, before the worker (`make run`, the worker's systemd unit); running it again,
or on several nodes at once, adds nothing.
"""

from django.core.management.base import BaseCommand

from videotermin.lib.jobs import periodic_tasks, schedule_periodic


class Command(BaseCommand):
    help = "Queue one pending run of each periodic job (idempotent)."

    def handle(self, *args, **options) -> None:
        schedule_periodic()
        if options["verbosity"] > 1:
            for path, periodic in sorted(periodic_tasks().items()):
                self.stdout.write(f"{path}: every {periodic.interval}")
