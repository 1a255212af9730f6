"""The statistics' job (lib/jobs.py runs it)."""

from datetime import timedelta

from django_tasks import task

from videotermin.lib.jobs import every
from videotermin.stats.services import write_due_facts


# Cancelled and missed consultations count in the statistics within minutes, not only once
# their personal data are deleted.
@every(timedelta(minutes=10))
@task()
def write_facts() -> int:
    return write_due_facts()
