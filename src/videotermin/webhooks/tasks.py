"""The webhooks' jobs (lib/jobs.py runs them)."""

from datetime import timedelta

from django.conf import settings
from django_tasks import task

from videotermin.lib.jobs import every
from videotermin.webhooks import delivery, noshows


# Queued after every commit that wrote an event, and for the next retry that is due.
@task()
def deliver() -> int:
    return delivery.run()


# The safety net: retries whose run was lost, deliveries whose worker died (lease over),
# no-shows, and old rows.
@every(timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS))
@task()
def sweep() -> int:
    noshows.note_no_shows()
    delivery.prune()
    return delivery.run()
