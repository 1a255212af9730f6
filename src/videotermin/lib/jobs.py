"""One job runner for scheduled and deferred work: django-tasks on its database backend.

Jobs are rows of django_tasks_db's DBTaskResult, run by `manage.py db_worker` (one or more, on
one node or several). The package runs a job once and records it as failed when it raises; this
module adds what the consent text's promises need on top:

- Periodic tasks without cron: `@every(interval)` on top of `@task()` registers a task as
  periodic. Each run first queues the next one (`run_after`), so a run that fails or whose
  worker dies is simply followed by the next. `schedule_periodic()` (the `schedule` command, at
  every start) makes sure each periodic task has exactly one pending run.
- Retries: a one-off job that failed is queued again with a growing delay, up to MAX_ATTEMPTS
  runs; a job whose worker died (still "running" after LEASE) is queued again too. So a job
  must be idempotent, and must finish well within LEASE. Periodic jobs are not retried: their
  next run is the retry.
"""

from __future__ import annotations

import functools
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django_tasks import TaskResultStatus, task
from django_tasks.base import Task

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A one-off job runs at most this often (the first run and four retries).
MAX_ATTEMPTS = 5
# The delay before the first retry; it doubles with every further one, up to RETRY_MAX.
RETRY_DELAY = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)
# A job still marked running after this long lost its worker (killed, node gone): jobs are
# short, so a live worker is done long before.
LEASE = timedelta(minutes=15)
# Failed jobs older than this have used up their retries; recover() no longer looks at them.
RETRY_HORIZON = timedelta(days=1)
# Finished jobs' rows are kept this long for looking into, then deleted: a periodic job alone
# adds one row a minute.
KEEP_FINISHED = timedelta(days=7)

# Every node takes the same PostgreSQL advisory lock while it checks the pending periodic runs.
_LOCK_KEY = zlib.crc32(b"videotermin.lib.jobs.periodic")


@dataclass(frozen=True)
class Periodic:
    task: Task
    interval: timedelta


# module path of the task -> its schedule; filled as task modules are imported.
_periodic: dict[str, Periodic] = {}


def every(interval: timedelta) -> Callable[[Task[Any, T]], Task[Any, T]]:
    """Register a task (without arguments) to run every `interval`, on top of `@task()`."""

    def register(job: Task[Any, T]) -> Task[Any, T]:
        run = job.func

        @functools.wraps(run)
        def periodic(*args: Any, **kwargs: Any) -> T:
            # Queue the next run before doing the work: a failure, or a worker killed during
            # the run, never breaks the chain.
            _ensure_pending({job.module_path: timezone.now() + interval})
            return run(*args, **kwargs)

        # functools.wraps keeps the module path, so stored rows still name this task.
        registered = replace(job, func=periodic)
        _periodic[registered.module_path] = Periodic(registered, interval)
        return registered

    return register


def periodic_tasks() -> dict[str, Periodic]:
    """The registered periodic tasks, after importing every installed app's tasks module."""
    autodiscover_modules("tasks")
    return dict(_periodic)


def schedule_periodic() -> None:
    """Make sure every periodic task has exactly one pending run; safe to call at any time from
    any number of processes and nodes."""
    periodic_tasks()
    _ensure_pending({})


@contextmanager
def _serialized(using: str) -> Iterator[None]:
    """A transaction that only one process at a time is in."""
    from django_tasks_db.utils import exclusive_transaction

    if connections[using].vendor == "postgresql":
        with transaction.atomic(using=using):
            with connections[using].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            yield
    else:
        # SQLite: an exclusive transaction locks the whole database file.
        with exclusive_transaction(using):
            yield


def _ensure_pending(upcoming: dict[str, datetime]) -> None:
    """Leave one pending run per periodic task: keep the earliest, delete any other, and queue
    a missing one at upcoming[path] (default: now)."""
    from django_tasks_db.models import DBTaskResult

    using = router.db_for_write(DBTaskResult)
    now = timezone.now()
    with _serialized(using):
        pending = (
            DBTaskResult.objects.using(using)
            .filter(status=TaskResultStatus.READY, task_path__in=list(_periodic))
            .order_by("run_after", "enqueued_at")
            .values_list("id", "task_path")
        )
        seen: set[str] = set()
        surplus = []
        for result_id, path in pending:
            if path in seen:
                surplus.append(result_id)
            seen.add(path)
        if surplus:
            DBTaskResult.objects.using(using).filter(id__in=surplus).delete()
        for path, periodic in _periodic.items():
            if path not in seen:
                periodic.task.using(run_after=upcoming.get(path, now)).enqueue()


def retry_delay(attempts: int) -> timedelta:
    """How long a job that failed `attempts` times waits before it runs again."""
    return min(RETRY_DELAY * 2 ** max(attempts - 1, 0), RETRY_MAX)


def requeue() -> int:
    """Queue again the one-off jobs that failed or lost their worker and have attempts left;
    give up on periodic jobs that lost their worker (the next run follows). Returns how many
    were queued again."""
    from django_tasks_db.models import DBTaskResult

    using = router.db_for_write(DBTaskResult)
    now = timezone.now()
    periodic = set(periodic_tasks())
    queued = 0
    with transaction.atomic(using=using):
        rows = (
            DBTaskResult.objects.using(using)
            .select_for_update(skip_locked=True)
            .filter(
                Q(status=TaskResultStatus.RUNNING, started_at__lt=now - LEASE)
                | Q(status=TaskResultStatus.FAILED, finished_at__gte=now - RETRY_HORIZON)
            )
            .order_by()
        )
        for row in rows:
            attempts = len(row.worker_ids)
            lost = row.status == TaskResultStatus.RUNNING
            if row.task_path in periodic or attempts >= MAX_ATTEMPTS:
                if lost:
                    row.status = TaskResultStatus.FAILED
                    row.finished_at = now
                    row.exception_class_path = "videotermin.lib.jobs.WorkerLost"
                    row.traceback = "The worker stopped while running this job."
                    row.save(
                        update_fields=["status", "finished_at", "exception_class_path", "traceback"]
                    )
                    logger.error("job %s (%s) lost its worker", row.id, row.task_path)
                continue
            if not lost and row.finished_at and row.finished_at + retry_delay(attempts) > now:
                continue
            row.status = TaskResultStatus.READY
            row.run_after = now
            row.save(update_fields=["status", "run_after"])
            queued += 1
            logger.warning(
                "job %s (%s) queued again, attempt %d", row.id, row.task_path, attempts + 1
            )
    return queued


def prune() -> int:
    """Delete the rows of jobs that finished more than KEEP_FINISHED ago; returns how many."""
    from django_tasks_db.models import DBTaskResult

    finished = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
    deleted, _by_model = DBTaskResult.objects.filter(
        status__in=finished, finished_at__lt=timezone.now() - KEEP_FINISHED
    ).delete()
    return deleted


@every(timedelta(minutes=1))
@task()
def recover() -> None:
    """The runner's own periodic job: retries, periodic chains mended (schedule_periodic) and
    old rows pruned."""
    requeue()
    schedule_periodic()
    prune()


class WorkerLost(Exception):
    """Recorded for a job whose worker stopped while running it."""
