from django.core.management.base import BaseCommand
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.selectors import campaign_odds
from campaigns.services import quotas_open_day


class Command(BaseCommand):
    help = (
        "Open today's daily quotas of every running campaign (in its own time zone) "
        "and warm the caches. Idempotent, safe to run at any time; correctness never "
        "depends on it (daily quotas turn over at local midnight by themselves)."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        campaigns = Campaign.objects.active(now)
        for campaign in campaigns:
            day = campaign.local_day(now)
            opened = quotas_open_day(campaign=campaign, day=day)
            if campaign.kind == Campaign.Kind.DRAW:
                campaign_odds(campaign)
            self.stdout.write(
                f"{campaign.slug}: day {day} ({campaign.timezone}), "
                f"{opened} coupon type counter(s) opened, caches warm"
            )
        self.stdout.write(f"{len(campaigns)} running campaign(s).")
