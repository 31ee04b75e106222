import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from draws.draw.verification import day_verify


class Command(BaseCommand):
    help = (
        "Re-derive every roll of a draw campaign's local day from the day's seed "
        "and each draw's identity (HMAC-SHA256), map it again with the odds "
        "stored on the draw, and report each mismatch (roll, coupon type, a win "
        "without a hit, a seed that does not match its published hash). Exits "
        "non-zero on any. Draws made before seeds are skipped and counted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="The campaign's slug.")
        parser.add_argument(
            "--day",
            required=True,
            help="The campaign's local day, YYYY-MM-DD.",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=100,
            help="Mismatches printed, at most (default 100); all are counted.",
        )

    def handle(self, *args, **options):
        campaign = Campaign.objects.filter(
            slug=options["campaign"], kind=Campaign.Kind.DRAW
        ).first()
        if campaign is None:
            raise CommandError(f"No draw campaign {options['campaign']!r}.")
        try:
            day = dt.date.fromisoformat(str(options["day"]))
        except ValueError:
            raise CommandError(f"Not a day (YYYY-MM-DD): {options['day']!r}.") from None
        printed = 0

        def show(mismatch) -> None:
            nonlocal printed
            if printed < options["limit"]:
                self.stdout.write(self.style.ERROR(str(mismatch)))
                printed += 1

        report = day_verify(campaign, day, on_mismatch=show, limit=0)
        if report.seed_hash is None:
            self.stdout.write(f"{campaign.slug} {day}: no seed for this day.")
        else:
            self.stdout.write(f"{campaign.slug} {day}: seed hash {report.seed_hash}")
        if not report.revealed:
            self.stdout.write(
                "The day has not ended: its seed is not revealed yet (checked "
                "with the operator's copy)."
            )
        self.stdout.write(
            f"checked {report.checked}, not verifiable (made before seeds) "
            f"{report.not_verifiable}, mismatches {report.mismatch_count}"
        )
        if report.mismatch_count:
            raise CommandError(
                f"{report.mismatch_count} mismatches on {campaign.slug} {day}.",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS("Every roll derives from the seed."))
