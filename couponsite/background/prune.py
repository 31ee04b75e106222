"""What background work leaves behind, dropped once it can no longer matter."""

import datetime as dt
import io

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from couponsite.models import JobRun


def background_records_prune(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Drop finished tasks' results (django-tasks-db's own ``prune_db_task_results``:
    successful ones after ``TASK_RESULTS_KEEP_DAYS``, failed ones after
    ``TASK_FAILURES_KEEP_DAYS``) and the schedule's "done" marks after
    ``JOB_RUNS_KEEP_DAYS`` (a job only ever asks about today's). Idempotent."""
    now = now or timezone.now()
    from django_tasks_db.models import DBTaskResult

    before = DBTaskResult.objects.count()
    call_command(  # as its command line: every queue
        "prune_db_task_results",
        "--queue-name=*",
        f"--min-age-days={settings.TASK_RESULTS_KEEP_DAYS}",
        f"--failed-min-age-days={settings.TASK_FAILURES_KEEP_DAYS}",
        stdout=io.StringIO(),
        verbosity=0,
    )
    tasks = before - DBTaskResult.objects.count()
    marks, _ = JobRun.objects.filter(
        done_at__lt=now - dt.timedelta(days=settings.JOB_RUNS_KEEP_DAYS)
    ).delete()
    return {"task_results": tasks, "job_runs": marks}
