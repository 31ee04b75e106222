"""The schedule: every job registered with its crontab, the purge run by the
real worker and harmless twice, and a second scheduler started by mistake
waits on the Redis lock and gives up instead of running the jobs again."""

import datetime as dt
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crontask import scheduler
from crontask.management.commands.crontask import Command as CrontaskCommand
from django.conf import settings
from django.db import connection
from django.utils import timezone

import campaigns.tasks
import couponsite.tasks
import customers.tasks
import draws.claim.scheduled_releases_tasks
import draws.tasks
import messaging.tasks
import webhooks.tasks
from couponsite.models import IdempotencyKey
from couponsite.testing import race
from couponsite.testing.tasks import run_queued_tasks

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]


def _crontab(trigger) -> str:
    fields = {field.name: str(field) for field in trigger.fields}
    return " ".join(
        fields[name] for name in ("minute", "hour", "day", "month", "day_of_week")
    )


def test_every_scheduled_job_is_registered_with_its_crontab():
    # What `manage.py crontask` loads: every installed app's tasks module.
    CrontaskCommand(stdout=io.StringIO()).load_tasks({})
    jobs = {job.name: job for job in scheduler.get_jobs()}
    expected = {
        "release_expired_holds": "* * * * *",
        "warm_closed_rushes": "* * * * *",
        "prepare_draw_seeds": "*/15 * * * *",
        "open_local_days": "* * * * *",
        "release_on_schedule": "* * * * *",
        "sweep_messages": "* * * * *",
        "deliveries_resume": "*/5 * * * *",
        "purge_signin_codes": "30 4 * * *",
        "purge_webhook_deliveries": "40 4 * * *",
        "purge_idempotency_keys": "17 * * * *",
        "prune_background_records": "10 4 * * *",
        "audit_invariants_nightly": "30 3 * * *",
    }

    assert {name: _crontab(job.trigger) for name, job in jobs.items()} == expected
    assert str(jobs["audit_invariants_nightly"].trigger.timezone) == settings.TIME_ZONE
    # The schedule enqueues the tasks (on the "jobs" queue); a worker runs them.
    for module, name in [
        (draws.tasks, "release_expired_holds"),
        (draws.tasks, "warm_closed_rushes"),
        (draws.tasks, "prepare_draw_seeds"),
        (draws.tasks, "audit_invariants_nightly"),
        (campaigns.tasks, "open_local_days"),
        (couponsite.tasks, "purge_idempotency_keys"),
        (couponsite.tasks, "prune_background_records"),
        (draws.claim.scheduled_releases_tasks, "release_on_schedule"),
        (messaging.tasks, "sweep_messages"),
        (webhooks.tasks, "deliveries_resume"),
        (customers.tasks, "purge_signin_codes"),
        (webhooks.tasks, "purge_webhook_deliveries"),
    ]:
        job_task = getattr(module, name)
        assert jobs[name].func == job_task.enqueue
        assert job_task.queue_name == "jobs"


def _keys(count: int, *, age: dt.timedelta, start: int = 0) -> None:
    at = timezone.now() - age
    IdempotencyKey.objects.bulk_create(
        IdempotencyKey(
            owner="c:1",
            endpoint="/x",
            key=f"k{start + n}",
            request_hash="h",
            created_at=at,
            updated_at=at,
        )
        for n in range(count)
    )


@pytest.mark.django_db
def test_the_hourly_purge_drops_old_keys_through_the_worker_and_twice_is_harmless():
    _keys(3, age=dt.timedelta(hours=49))
    _keys(2, age=dt.timedelta(hours=1), start=10)

    result = couponsite.tasks.purge_idempotency_keys.enqueue()
    assert run_queued_tasks() == 1
    assert (
        couponsite.tasks.purge_idempotency_keys.get_result(result.id).return_value == 3
    )
    kept = set(IdempotencyKey.objects.values_list("key", flat=True))
    assert kept == {"k10", "k11"}

    couponsite.tasks.purge_idempotency_keys.enqueue()
    assert run_queued_tasks() == 1
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == kept


@pytest.mark.django_db(transaction=True)
def test_two_purges_at_once_delete_each_key_once():
    _keys(40, age=dt.timedelta(hours=50))
    _keys(5, age=dt.timedelta(minutes=5), start=100)

    deleted = race(lambda _: couponsite.tasks.purge_idempotency_keys.call(), 2)

    assert sum(deleted) == 40
    assert IdempotencyKey.objects.count() == 5


def _scheduler(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "crontask", "--no-heartbeat"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(process: subprocess.Popen, text: str, timeout: float = 30) -> str:
    """Lines of ``process``'s stdout until one holds ``text``."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} never came; got {''.join(seen)!r}")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_second_scheduler_waits_on_the_lock_and_gives_up():
    db = connection.settings_dict
    env = {
        **os.environ,
        # The test database (whatever a job enqueues lands there and is flushed).
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}"
            f":{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CRONTASK_LOCK_WAIT_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    first = _scheduler(env)
    try:
        started = _read_until(first, "Starting scheduler")
        assert "Loaded tasks from draws" in started
        assert "Loaded tasks from campaigns" in started

        second = _scheduler(env)
        out, err = second.communicate(timeout=60)

        assert "Acquiring lock" in out
        assert "Starting scheduler" not in out
        assert "Another scheduler is already running." in err
        assert second.returncode == 0
        assert first.poll() is None  # the first one schedules on

        # Stopped, the first lets the lock go: the next one takes over.
        first.terminate()
        first.communicate(timeout=30)
        third = _scheduler(env)
        try:
            _read_until(third, "Starting scheduler")
        finally:
            third.terminate()
            third.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
