"""The plumbing's scheduled jobs (``manage.py crontask`` loads this module).

Each is a ``django.tasks`` task on the "jobs" queue that the schedule enqueues
and a worker runs; it calls the same function as its management command.
"""

import logging

from crontask import cron
from django.tasks import task

from couponsite.api.idempotency import idempotency_keys_purge
from couponsite.background.prune import background_records_prune

logger = logging.getLogger(__name__)


@cron("17 * * * *")
@task(queue_name="jobs")
def purge_idempotency_keys() -> int:
    """Hourly: drop the Idempotency-Key records past ``RETENTION_IDEMPOTENCY``
    (48 h; their replay window is 24 h). Logs and counts what it purged."""
    return idempotency_keys_purge()


@cron("10 4 * * *")
@task(queue_name="jobs")
def prune_background_records() -> dict[str, int]:
    """Daily, 04:10: drop old task results and the schedule's old "done" marks."""
    pruned = background_records_prune()
    logger.info("background records pruned", extra=pruned)
    return pruned
