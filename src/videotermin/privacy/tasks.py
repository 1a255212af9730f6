"""The worker deletes expired personal data every hour (docs/privacy.md)."""

from datetime import timedelta

from django_tasks import task

from videotermin.lib.jobs import every
from videotermin.privacy.services import purge


@every(timedelta(hours=1))
@task()
def purge_expired() -> None:
    purge()
