"""The booking's background job (lib/jobs.py runs it)."""

from datetime import timedelta

from django_tasks import task

from videotermin.booking.services import delete_expired
from videotermin.lib.jobs import every


# Every minute: an unconfirmed hold's details are gone within a minute of its expiry.
@every(timedelta(minutes=1))
@task()
def delete_expired_holds() -> None:
    delete_expired()
