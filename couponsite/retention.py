"""Records that only matter for a while, purged by the schedule in small batches.

Each room purges its own records with a scheduled job in its ``tasks.py``
(couponsite the Idempotency-Key records, customers the sign-in codes, webhooks
the deliveries) and hands the same function over here at start-up
(``register_purge`` in its ``AppConfig.ready``), so ``manage.py purge_expired``
runs them all by hand without couponsite importing an app.

``purge_in_batches`` deletes by primary key, ``RETENTION_BATCH_SIZE`` rows per
statement, each in its own transaction: a big table is never locked for long,
and a row that stopped matching the condition meanwhile (a webhook delivery
sent again) is not deleted, because every ``DELETE`` repeats the condition.
docs/operations.md, "What is kept, and for how long", says what and why.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import models, transaction

from couponsite import metrics

logger = logging.getLogger(__name__)

# name -> a purge: deletes what is past its time, returns how many rows went.
PURGES: dict[str, Callable[[], int]] = {}


def register_purge(name: str, purge: Callable[[], int]) -> None:
    """Make ``purge`` one of what ``manage.py purge_expired`` runs (once per name)."""
    PURGES[name] = purge


def purge_in_batches(
    expired: models.QuerySet, *, kind: str, batch_size: int | None = None
) -> int:
    """Delete the rows of ``expired``, at most ``batch_size`` (default
    ``RETENTION_BATCH_SIZE``) per ``DELETE``, in primary key order; how many.

    Each batch is its own short transaction: the batch's rows still matching
    ``expired`` are locked (``FOR UPDATE SKIP LOCKED``: a row another
    transaction holds, a delivery being sent again, is left for the next run)
    and deleted by primary key, with what cascades from them (a delivery's
    attempts). The next batch starts after the last key seen, so the loop
    ends whatever others do meanwhile. Idempotent and safe beside itself: a
    second run, or a concurrent one, finds fewer rows or none. The count goes
    to the log and to ``couponsite_retention_purged_total{kind}``.
    """
    size = batch_size or settings.RETENTION_BATCH_SIZE
    model = expired.model
    total = 0
    last = None
    while True:
        page = expired if last is None else expired.filter(pk__gt=last)
        ids = list(page.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        last = ids[-1]
        with transaction.atomic():
            still = list(
                expired.filter(pk__in=ids)
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)
            )
            if still:
                _, per_model = model._base_manager.filter(pk__in=still).delete()
                total += per_model.get(model._meta.label, 0)
        if len(ids) < size:
            break
    if total:
        metrics.retention_purged(kind, total)
    logger.info("retention purge", extra={"kind": kind, "deleted": total})
    return total
