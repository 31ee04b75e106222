"""The schedule's job that runs scheduled releases (``draws.claim.scheduled_releases``).

Registered with the scheduler by importing this module from ``draws.tasks``
(crontask reads each app's ``tasks`` module only). Every minute, on the "jobs"
queue; idempotent, so a late, repeated or doubled run changes nothing.
"""

from crontask import cron
from django.tasks import task

from draws.claim.scheduled_releases import run_due_releases


@cron("* * * * *")
@task(queue_name="jobs")
def release_on_schedule() -> int:
    """Release what the schedules say is due now; how many schedules ran."""
    return len(run_due_releases())
