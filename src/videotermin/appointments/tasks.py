"""The appointments' background jobs (lib/jobs.py runs them)."""

from datetime import timedelta

from django_tasks import task

from videotermin.appointments import reminders
from videotermin.lib.jobs import every


# Every minute: a reminder goes out within a minute of its time, and a run that finds nothing
# due costs one query.
@every(timedelta(minutes=1))
@task()
def send_reminders() -> int:
    return reminders.send_due_reminders()
