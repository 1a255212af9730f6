"""The webhooks' jobs (lib/jobs.py runs them)."""

from datetime import timedelta

from django.conf import settings
from django_tasks import task

from videotermin.lib.jobs import every
from videotermin.webhooks import delivery


# Queued after every commit that wrote an event, and for the next retry that is due.
@task()
def deliver() -> int:
    return delivery.run()


# The safety net: retries whose run was lost, deliveries whose worker died (lease over), and old
# rows. No-shows are noticed by the statistics' job (stats/tasks.py), which writes their facts.
@every(timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS))
@task()
def sweep() -> int:
    delivery.prune()
    return delivery.run()
