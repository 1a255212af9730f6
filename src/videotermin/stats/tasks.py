"""The statistics' job (lib/jobs.py runs it)."""

from datetime import timedelta

from django_tasks import task

from videotermin.lib.jobs import every
from videotermin.stats.services import write_due_facts


# Cancelled and missed consultations count in the statistics within a minute or two, not only
# once their personal data are deleted; a missed one's fact is its `consultation.no_show`
# event, which the agency's system hears of the same way.
@every(timedelta(minutes=1))
@task()
def write_facts() -> int:
    return write_due_facts()
