"""Run the task queue's real worker (django-tasks-db's ``db_worker`` loop) in tests.

``run_queued_tasks()`` runs every task that is due now, in this thread and on
this connection, so a test inside a transaction sees what the tasks did: the
worker's own claim and ``run_task``, without the loop's connection recycling
(which would close the test's transaction). ``worker_thread()`` runs the same loop on its own thread
and connection until the block ends, for tests that need the worker to run
beside them (``transactional_db``: the worker sees only committed rows).
"""

import contextlib
import threading
import time

from django.db import connection, transaction
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def _worker(*, batch: bool, interval: float = 0.05, worker_id: str = "test") -> Worker:
    return Worker(
        queue_names=["*"],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def run_queued_tasks() -> int:
    """Run every task due now (and those they enqueue, when due now); how many ran."""
    worker = _worker(batch=True)
    ran = 0
    while True:
        with transaction.atomic():
            db_task = DBTaskResult.objects.ready().get_locked()
            if db_task is None:
                return ran
            db_task.claim(worker.worker_id)
        worker.run_task(db_task)
        ran += 1


@contextlib.contextmanager
def worker_thread(*, interval: float = 0.05, worker_id: str = "test-thread"):
    """A real worker loop on its own thread (and database connection) for the block."""
    worker = _worker(batch=False, interval=interval, worker_id=worker_id)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except BaseException as error:
            failure.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=worker_id, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.running = False
        thread.join(timeout=10)
    if failure:
        raise failure[0]


def wait_for(predicate, *, timeout: float = 10.0, step: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; that value. Fails the
    test (AssertionError) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {predicate}")
        time.sleep(step)
