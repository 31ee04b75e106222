"""The task queue: enqueued in the effect's transaction, run by the real worker
loop (django-tasks-db's db_worker), counted on /readyz."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from couponsite.background.backoff import backoff_delay
from couponsite.background.figures import queue_figures
from couponsite.testing.tasks import run_queued_tasks, wait_for, worker_thread

pytestmark = [pytest.mark.postgres]

RAN: list[str] = []


@task
def remember(word: str) -> str:
    RAN.append(word)
    return word.upper()


@pytest.fixture(autouse=True)
def _forget():
    RAN.clear()
    yield
    RAN.clear()


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_in_a_rolled_back_transaction_never_runs():
    with pytest.raises(RuntimeError), transaction.atomic():
        remember.enqueue("lost")
        raise RuntimeError("the effect failed")
    with transaction.atomic():
        kept = remember.enqueue("kept")

    with worker_thread():
        wait_for(lambda: RAN)
        wait_for(
            lambda: (
                DBTaskResult.objects.get(pk=kept.id).status
                == TaskResultStatus.SUCCESSFUL
            )
        )

    assert RAN == ["kept"]
    assert DBTaskResult.objects.count() == 1
    assert remember.get_result(kept.id).return_value == "KEPT"


@pytest.mark.django_db
def test_run_queued_tasks_runs_what_is_due_and_leaves_what_waits():
    remember.enqueue("now")
    later = remember.using(run_after=timezone.now() + dt.timedelta(minutes=5))
    later.enqueue("later")

    assert run_queued_tasks() == 1
    assert RAN == ["now"]


@pytest.mark.django_db(transaction=True)
def test_readyz_counts_the_waiting_tasks_and_the_oldest_ones_age(client):
    with time_machine.travel(timezone.now() - dt.timedelta(seconds=90), tick=False):
        remember.enqueue("old")
    remember.enqueue("new")
    remember.using(run_after=timezone.now() + dt.timedelta(hours=1)).enqueue("later")

    queue = client.get("/readyz").json()["details"]["queue"]

    assert queue["waiting"] == 2
    assert queue["scheduled"] == 1
    assert queue["failed"] == 0
    assert 89 <= queue["oldest_waiting_seconds"] < 200


@pytest.mark.django_db
def test_queue_figures_count_a_failed_task():
    failing = remember.enqueue(["not", "a", "string"])
    DBTaskResult.objects.filter(pk=failing.id).update(status=TaskResultStatus.FAILED)

    assert queue_figures().failed == 1
    assert queue_figures().waiting == 0


def test_backoff_doubles_up_to_its_cap():
    delays = [
        backoff_delay(n, base_seconds=10, cap_seconds=60, jitter=0).total_seconds()
        for n in range(1, 6)
    ]

    assert delays == [10, 20, 40, 60, 60]
    with pytest.raises(ValueError):
        backoff_delay(0, base_seconds=1, cap_seconds=1)


def test_backoff_jitter_only_lengthens_and_stays_within_its_share():
    delays = {
        backoff_delay(3, base_seconds=10, cap_seconds=600).total_seconds()
        for _ in range(50)
    }

    assert min(delays) >= 40
    assert max(delays) <= 44
    assert len(delays) > 1


@pytest.mark.django_db
def test_the_daily_prune_drops_old_results_and_marks_and_keeps_the_rest():
    from couponsite.background.prune import background_records_prune
    from couponsite.models import JobRun
    from couponsite.tasks import prune_background_records

    now = timezone.now()
    old_ok, old_failed, young_failed, waiting = (
        remember.enqueue(word) for word in ("old", "old-failed", "failed", "waiting")
    )
    DBTaskResult.objects.filter(pk=old_ok.id).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=now - dt.timedelta(days=8)
    )
    DBTaskResult.objects.filter(pk=old_failed.id).update(
        status=TaskResultStatus.FAILED, finished_at=now - dt.timedelta(days=31)
    )
    DBTaskResult.objects.filter(pk=young_failed.id).update(
        status=TaskResultStatus.FAILED, finished_at=now - dt.timedelta(days=8)
    )
    JobRun.objects.create(job="j", key="old", done_at=now - dt.timedelta(days=31))
    JobRun.objects.create(job="j", key="today", done_at=now)

    prune_background_records.enqueue()
    run_queued_tasks()

    left = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert str(old_ok.id) not in map(str, left)
    assert str(old_failed.id) not in map(str, left)
    assert {str(young_failed.id), str(waiting.id)} <= set(map(str, left))
    assert list(JobRun.objects.values_list("key", flat=True)) == ["today"]
    # the prune task's own result is young: a second run drops nothing
    assert background_records_prune() == {"task_results": 0, "job_runs": 0}
