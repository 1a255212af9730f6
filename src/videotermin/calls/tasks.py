"""The room's periodic work for the job runner (lib/jobs.py)."""

from datetime import timedelta

from django_tasks import task

from videotermin.calls import presence
from videotermin.lib.jobs import every


# Every minute, besides the sweeps of the processes that hold sockets: when no process holds one
# (a whole cluster restarted), members of the dead processes still go, so day views tell the truth.
@every(timedelta(minutes=1))
@task()
def sweep_presence() -> int:
    return presence.sweep()
