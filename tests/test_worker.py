"""The job runner (lib/jobs.py): periodic jobs have exactly one pending run however often and
wherever they are scheduled, a periodic run queues the next one, and a job that fails or loses
its worker runs again, up to its attempts."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from videotermin.appointments.tasks import send_reminders
from videotermin.lib import jobs

ROOT = Path(__file__).resolve().parent.parent

# How often flaky() still fails; the test sets it.
failures_left = {"count": 0}


@task()
def flaky() -> str:
    if failures_left["count"] > 0:
        failures_left["count"] -= 1
        raise RuntimeError("the mail server is down")
    return "done"


@pytest.fixture(autouse=True)
def keep_the_test_transaction(monkeypatch):
    """The worker closes stale connections between jobs; in this process that is the test's."""
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def run_worker() -> None:
    """Run every job that is ready now, in this process, as `db_worker --batch` would."""
    db_worker.Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=50,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def pending_runs() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in DBTaskResult.objects.filter(status=TaskResultStatus.READY).values_list(
        "task_path", flat=True
    ):
        counts[path] = counts.get(path, 0) + 1
    return counts


def row_of(result) -> DBTaskResult:
    return DBTaskResult.objects.get(id=result.id)


def test_scheduling_again_and_again_leaves_one_pending_run_per_periodic_job(db):
    jobs.schedule_periodic()
    jobs.schedule_periodic()
    jobs.schedule_periodic()

    periodic = jobs.periodic_tasks()
    assert send_reminders.module_path in periodic
    assert jobs.recover.module_path in periodic
    assert pending_runs() == dict.fromkeys(periodic, 1)


def test_surplus_pending_runs_are_removed_and_the_earliest_kept(db):
    soon = timezone.now() + timedelta(minutes=1)
    send_reminders.using(run_after=soon + timedelta(hours=1)).enqueue()
    earliest = send_reminders.using(run_after=soon).enqueue()

    jobs.schedule_periodic()

    [kept] = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=send_reminders.module_path
    )
    assert str(kept.id) == earliest.id


def test_a_periodic_run_queues_its_next_run_before_doing_its_work(db):
    before = timezone.now()

    send_reminders.call()

    [following] = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=send_reminders.module_path
    )
    assert before + timedelta(minutes=1) <= following.run_after
    assert following.run_after <= timezone.now() + timedelta(minutes=1)


def test_a_periodic_run_that_fails_still_has_its_next_run_queued(db, monkeypatch):
    def broken() -> int:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("videotermin.appointments.reminders.send_due_reminders", broken)
    send_reminders.enqueue()

    run_worker()

    assert DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count() == 1
    assert pending_runs()[send_reminders.module_path] == 1
    # Periodic jobs are not retried: their next run is the retry.
    assert jobs.requeue() == 0


def test_a_failing_job_is_retried_with_a_growing_delay_until_it_succeeds(db):
    failures_left["count"] = 2
    result = flaky.enqueue()

    run_worker()
    assert row_of(result).status == TaskResultStatus.FAILED
    assert jobs.requeue() == 0, "not before the delay has passed"

    for attempt in (1, 2):
        row = row_of(result)
        row.finished_at = timezone.now() - jobs.retry_delay(attempt) - timedelta(seconds=1)
        row.save(update_fields=["finished_at"])
        assert jobs.requeue() == 1
        run_worker()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "done"
    assert result.attempts == 3
    assert jobs.retry_delay(1) < jobs.retry_delay(2) <= jobs.RETRY_MAX


def test_a_job_that_keeps_failing_is_given_up_after_its_attempts(db):
    failures_left["count"] = 1000
    result = flaky.enqueue()
    run_worker()
    for _attempt in range(jobs.MAX_ATTEMPTS + 2):
        DBTaskResult.objects.filter(id=result.id).update(
            finished_at=timezone.now() - jobs.RETRY_MAX - timedelta(seconds=1)
        )
        jobs.requeue()
        run_worker()

    row = row_of(result)
    assert row.status == TaskResultStatus.FAILED
    assert len(row.worker_ids) == jobs.MAX_ATTEMPTS


def test_a_job_whose_worker_died_runs_again_and_a_periodic_one_is_left_to_its_next_run(db):
    failures_left["count"] = 0
    one_off = flaky.enqueue()
    periodic = send_reminders.enqueue()
    long_ago = timezone.now() - jobs.LEASE - timedelta(minutes=1)
    DBTaskResult.objects.filter(id__in=[one_off.id, periodic.id]).update(
        status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["killed"]
    )

    assert jobs.requeue() == 1

    assert row_of(one_off).status == TaskResultStatus.READY
    assert row_of(periodic).status == TaskResultStatus.FAILED
    run_worker()
    assert row_of(one_off).status == TaskResultStatus.SUCCESSFUL


def test_a_job_still_running_within_its_lease_is_left_alone(db):
    result = flaky.enqueue()
    DBTaskResult.objects.filter(id=result.id).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now(), worker_ids=["busy"]
    )

    assert jobs.requeue() == 0
    assert row_of(result).status == TaskResultStatus.RUNNING


def database_url() -> str:
    """The address of the test database, for a worker or command in another process."""
    from django.db import connection

    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(database['NAME']).resolve()}"
    return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(**database)


def manage(*args: str, **env: str) -> subprocess.Popen:
    """Start `manage.py <args>` against the test database."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**os.environ, "DATABASE_URL": database_url(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.django_db(transaction=True)
def test_several_nodes_scheduling_at_once_leave_one_pending_run_per_periodic_job():
    processes = [manage("schedule") for _node in range(2)]
    for process in processes:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output.decode()

    assert pending_runs() == dict.fromkeys(jobs.periodic_tasks(), 1)


def test_finished_jobs_are_pruned_after_a_week_and_pending_ones_kept(db):
    old = flaky.enqueue()
    recent = flaky.enqueue()
    pending = flaky.using(run_after=timezone.now() + timedelta(days=30)).enqueue()
    run_worker()
    DBTaskResult.objects.filter(id=old.id).update(
        finished_at=timezone.now() - jobs.KEEP_FINISHED - timedelta(minutes=1)
    )

    assert jobs.prune() == 1

    assert set(DBTaskResult.objects.values_list("id", flat=True)) == {
        row_of(recent).id,
        row_of(pending).id,
    }
