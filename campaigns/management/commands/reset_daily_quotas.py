from django.core.management.base import BaseCommand

from campaigns.services import campaigns_open_local_days


class Command(BaseCommand):
    help = (
        "Open today's daily quotas of every running campaign (in its own time zone) "
        "and warm the caches. Idempotent, safe to run at any time; correctness never "
        "depends on it (daily quotas turn over at local midnight by themselves). "
        "The schedule does it at each campaign's local midnight (campaigns.tasks)."
    )

    def handle(self, *args, **options):
        opened = campaigns_open_local_days()
        for row in opened:
            self.stdout.write(
                f"{row.campaign.slug}: day {row.day} ({row.campaign.timezone}), "
                f"{row.opened} coupon type counter(s) opened, caches warm"
            )
        self.stdout.write(f"{len(opened)} running campaign(s).")
