import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.models import Campaign
from couponsite.redis_client import REDIS_ERRORS
from draws.rush.services import ReservationsStillOpen, rush_warm


class Command(BaseCommand):
    help = (
        "Load rush days into Redis from Postgres: who reserved, who already grabbed, "
        "the coupons left. Run it when reservations close (cron at the rush's "
        "opening is fine); the first grab does it too if nobody did. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--campaign", help="Slug of one rush campaign (default: all running)."
        )
        parser.add_argument(
            "--day",
            type=dt.date.fromisoformat,
            help="Local date of the rush's cycle, YYYY-MM-DD (default: the latest).",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Rebuild a day already loaded (after a Redis incident).",
        )

    def handle(self, *args, campaign=None, day=None, replace=False, **options):
        now = timezone.now()
        campaigns = Campaign.objects.filter(kind=Campaign.Kind.RUSH)
        if campaign:
            campaigns = campaigns.filter(slug=campaign)
            if not campaigns.exists():
                raise CommandError(f"No rush campaign {campaign!r}.")
        else:
            campaigns = campaigns.active(now)
        for rush in campaigns:
            try:
                result = rush_warm(campaign=rush, day=day, replace=replace, now=now)
            except ReservationsStillOpen:
                self.stdout.write(f"{rush.slug}: reservations still open, skipped")
                continue
            except REDIS_ERRORS as exc:
                raise CommandError(f"Redis is not answering: {exc}") from exc
            if result is None:
                raise CommandError("REDIS_URL is not set: grabs use Postgres alone.")
            state = "loaded" if result.installed else "already loaded, kept"
            self.stdout.write(
                f"{rush.slug} {result.day}: {state} ({result.reserved} reservations, "
                f"{result.received} grabs, {result.stock} coupons free)"
            )
