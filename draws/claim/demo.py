"""A claim-and-hold campaign for ``manage.py seed_demo`` (idempotent)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, CouponType
from campaigns.services import campaign_create
from draws.claim.releases import batch_release
from draws.pool import Release

SLUG = "daily-coupon-drop"
BATCH = 1_000

# Seed 002: employees release coupons by category; customers claim one a day.
CATEGORIES = [
    {
        "name": "10% off Electronics",
        "category": "electronics",
        "benefit_kind": CouponType.Kind.PERCENT,
        "percent": Decimal(10),
        "hold_seconds": 300,
    },
    {
        "name": "15% off Sport",
        "category": "sport",
        "benefit_kind": CouponType.Kind.PERCENT,
        "percent": Decimal(15),
        "hold_seconds": 300,
    },
]


def seed(stdout) -> None:
    campaign = Campaign.objects.filter(slug=SLUG).first()
    if campaign is None:
        now = timezone.now()
        campaign = campaign_create(
            acting_user=None,
            name="Daily Coupon Drop",
            slug=SLUG,
            kind=Campaign.Kind.CLAIM,
            timezone="America/New_York",
            starts_at=now - dt.timedelta(days=1),
            ends_at=now + dt.timedelta(days=90),
            description=(
                "Claim one coupon a day; it is held for you for 5 minutes, then it "
                "goes back to the pool unless you use it."
            ),
            coupon_types=CATEGORIES,
        )
    for coupon_type in campaign.coupon_types.all():
        if not Release.objects.filter(coupon_type=coupon_type).exists():
            batch_release(
                acting_user=None, coupon_type=coupon_type, count=BATCH, note="seed_demo"
            )
    stdout.write(
        f"  Claim campaign: /api/v1/campaigns/{SLUG} (POST …/claims to claim; "
        f"staff POST …/releases to release more)"
    )
