from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from campaigns.models import Campaign, CouponType
from couponsite.errors import DomainError
from draws.claim.releases import RELEASE_CHUNK_SIZE, batch_release


class Command(BaseCommand):
    help = (
        "Release a batch of new coupons of a coupon type into a claim campaign's "
        "pool (all or nothing; inserted in chunks, with a progress bar)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="The campaign's slug.")
        parser.add_argument(
            "--coupon-type",
            required=True,
            help="The coupon type's id or name (within the campaign).",
        )
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument(
            "--by",
            metavar="USERNAME",
            help=(
                "The staff user releasing them, recorded with the release and in "
                "the audit log; without it both name no user (a command)."
            ),
        )
        parser.add_argument("--note", default="")
        parser.add_argument("--chunk-size", type=int, default=RELEASE_CHUNK_SIZE)
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar."
        )

    def handle(self, *args, **options):
        campaign = Campaign.objects.filter(slug=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"No campaign with slug {options['campaign']!r}.")
        coupon_type = self._coupon_type(campaign, options["coupon_type"])
        # A command has no request user: whoever runs it names themselves with
        # --by; without it the release is recorded with no user.
        acting_user = None
        if options["by"]:
            acting_user = (
                get_user_model()
                .objects.filter(username=options["by"], is_staff=True)
                .first()
            )
            if acting_user is None:
                raise CommandError(f"No staff user {options['by']!r}.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")

        with tqdm(
            total=max(options["count"], 0),
            unit="coupon",
            unit_scale=True,
            disable=options["no_progress"],
            file=self.stderr,
        ) as bar:
            try:
                release = batch_release(
                    coupon_type=coupon_type,
                    count=options["count"],
                    acting_user=acting_user,
                    note=options["note"],
                    chunk_size=options["chunk_size"],
                    progress=bar.update,
                )
            except DomainError as exc:
                raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Released {release.count} coupons of {coupon_type.name!r} into "
                f"{campaign.slug} (release {release.pk})."
            )
        )

    @staticmethod
    def _coupon_type(campaign: Campaign, ref: str) -> CouponType:
        types = CouponType.objects.filter(campaign=campaign)
        found = types.filter(pk=int(ref)).first() if ref.isdigit() else None
        found = found or types.filter(name=ref).first()
        if found is None:
            names = ", ".join(f"{t.pk}: {t.name}" for t in types) or "none"
            raise CommandError(
                f"No coupon type {ref!r} in {campaign.slug} (it has {names})."
            )
        return found
