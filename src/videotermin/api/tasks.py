"""The worker deletes the answers kept for retried API requests once they expired."""

from datetime import timedelta

from django_tasks import task

from videotermin.api.idempotency import purge_expired
from videotermin.lib.jobs import every


@every(timedelta(hours=1))
@task()
def purge_idempotent_requests() -> None:
    purge_expired()
