"""Do a scheduled job's work once per key, whoever else runs it meanwhile.

``job_run_once(job=..., key=..., work=...)`` inserts a ``JobRun`` mark and runs
``work()`` in one transaction. Postgres' unique constraint on (job, key)
decides: a second scheduler, worker or retry running the same key at the same
time waits on the first's insert and then finds the mark (skips); if the
first's work fails, its mark rolls back with it and the next run does it.
"""

from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from couponsite.models import JobRun

DONE_ALREADY = object()


def job_run_once[T](*, job: str, key: str, work: Callable[[], T]) -> T | object:
    """``work()``'s result, or ``DONE_ALREADY`` when the key's mark exists."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                JobRun.objects.create(job=job, key=key, done_at=timezone.now())
        except IntegrityError:
            return DONE_ALREADY
        return work()


def job_keys_done(*, job: str, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` already have their mark (one query; a cheap pre-check,
    the insert in ``job_run_once`` still decides)."""
    return set(
        JobRun.objects.filter(job=job, key__in=list(keys)).values_list("key", flat=True)
    )


def job_mark_once(*, job: str, key: str) -> bool:
    """Insert the key's mark on its own, before the work (for work that must
    not run inside a transaction); False when it was there already. Work
    that then fails is not done again for that key."""
    try:
        with transaction.atomic():
            JobRun.objects.create(job=job, key=key, done_at=timezone.now())
    except IntegrityError:
        return False
    return True
