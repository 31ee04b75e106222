"""The scheduled jobs of the ways customers take part, and the nightly audit
(``manage.py crontask`` loads this module).

Each is a ``django.tasks`` task on the "jobs" queue: the schedule enqueues it,
a worker runs it, and it calls the same function as its management command.
Each is safe to run twice, or twice at once (``draws/tests/test_tasks.py``).
"""

import logging

from crontask import cron
from django.conf import settings
from django.tasks import task
from django.utils import timezone

from couponsite.background.once import job_mark_once
from draws.claim.scheduled_releases_tasks import (  # noqa: F401 (kept in its mode's room; importing it here registers its schedule)
    release_on_schedule,
)
from draws.claim.services import holds_release_expired
from draws.draw.fairness import draw_seeds_prepare
from draws.invariants import AuditRun, audit_invariants_record
from draws.rush.services import rush_warm_closed

logger = logging.getLogger(__name__)


@cron("* * * * *")
@task(queue_name="jobs")
def release_expired_holds() -> int:
    """Every minute: claimed coupons whose hold ran out go back to the pool,
    each with its EXPIRED history (``manage.py release_expired_holds``)."""
    released = holds_release_expired()
    if released:
        logger.info("expired holds released", extra={"released": released})
    return released


@cron("* * * * *")
@task(queue_name="jobs")
def warm_closed_rushes() -> int:
    """Every minute: a rush whose reservation window closed since the last run
    is loaded into Redis, once per campaign and day (``manage.py warm_rush``
    does one or all by hand)."""
    warmed = rush_warm_closed()
    for row in warmed:
        logger.info(
            "rush day loaded into Redis",
            extra={"campaign": row.campaign.pk, **row.result.__dict__},
        )
    return len(warmed)


@cron("*/15 * * * *")
@task(queue_name="jobs")
def prepare_draw_seeds() -> int:
    """Every quarter hour: today's and tomorrow's seed of every draw campaign
    that may still run, so each day's hash is published well before its first
    draw (a draw, or the campaign's detail, makes a missing one too)."""
    return draw_seeds_prepare()


@cron(settings.AUDIT_INVARIANTS_CRON)
@task(queue_name="jobs")
def audit_invariants_nightly() -> dict:
    """Nightly (``AUDIT_INVARIANTS_CRON``, 03:30 in TIME_ZONE): the invariant
    audit, its result kept for the back office (``manage.py audit_invariants``
    runs it by hand). Once a night: the night's mark (``JobRun``) is inserted
    first, so the audit itself reads outside any transaction (one snapshot)."""
    night = timezone.localdate().isoformat()
    if not job_mark_once(job="audit_invariants_nightly", key=night):
        return {"night": night, "done_already": True}
    run, _ = audit_invariants_record(trigger=AuditRun.Trigger.SCHEDULE)
    if not run.clean:
        logger.error("invariant audit found breaches", extra={"breaches": run.breaches})
    return {
        "night": night,
        "audit_run": run.pk,
        "clean": run.clean,
        "breaches": run.breaches,
    }
