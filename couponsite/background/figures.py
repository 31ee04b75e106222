"""The queue's figures: how many tasks wait, since when, how many failed."""

from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max


@dataclass(frozen=True)
class QueueFigures:
    waiting: int  # ready to run now
    scheduled: int  # waiting for their run_after (a retry's backoff)
    running: int
    failed: int
    oldest_waiting_seconds: float | None  # how long the oldest ready task has waited

    def as_dict(self) -> dict:
        return {
            "waiting": self.waiting,
            "scheduled": self.scheduled,
            "running": self.running,
            "failed": self.failed,
            "oldest_waiting_seconds": self.oldest_waiting_seconds,
        }


def queue_figures(now=None) -> QueueFigures:
    """One query over the task table (its status index)."""
    now = now or timezone.now()
    due = Q(run_after=get_date_max()) | Q(run_after__lte=now)
    ready = Q(status=TaskResultStatus.READY)
    row = DBTaskResult.objects.aggregate(
        waiting=Count("pk", filter=ready & due),
        scheduled=Count("pk", filter=ready & ~due),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
        failed=Count("pk", filter=Q(status=TaskResultStatus.FAILED)),
        oldest=Min("enqueued_at", filter=ready & due),
    )
    oldest = row["oldest"]
    return QueueFigures(
        waiting=row["waiting"],
        scheduled=row["scheduled"],
        running=row["running"],
        failed=row["failed"],
        oldest_waiting_seconds=(
            round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else None
        ),
    )
