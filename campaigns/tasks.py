"""Campaigns' scheduled job (``manage.py crontask`` loads this module)."""

import logging

from crontask import cron
from django.tasks import task

from campaigns.services import campaigns_open_local_days

logger = logging.getLogger(__name__)


@cron("* * * * *")
@task(queue_name="jobs")
def open_local_days() -> int:
    """Every minute: each running campaign whose local day began since the last
    run gets its daily figures opened (once per campaign and local day)."""
    opened = campaigns_open_local_days(once=True)
    for row in opened:
        logger.info(
            "campaign day opened",
            extra={
                "campaign": row.campaign.pk,
                "day": str(row.day),
                "opened": row.opened,
            },
        )
    return len(opened)
