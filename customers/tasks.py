"""Customers' scheduled jobs (``manage.py crontask`` loads this module)."""

from crontask import cron
from django.tasks import task

from customers.services.retention import codes_purge


@cron("30 4 * * *")
@task(queue_name="jobs")
def purge_signin_codes() -> dict[str, int]:
    """Daily, 04:30: drop sign-in and email code rows past
    ``RETENTION_SIGNIN_CODES`` (30 days after their last send)."""
    return codes_purge()
