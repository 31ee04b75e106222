"""A lucky-draw campaign for ``manage.py seed_demo`` (idempotent)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, CouponType
from campaigns.services import campaign_create

SLUG = "lucky-draw"

# The three prize categories of seed 000.
PRIZES = [
    {
        "name": "$5 Cash Coupon",
        "category": "cash",
        "benefit_kind": CouponType.Kind.AMOUNT,
        "amount": Decimal(5),
        "currency": "USD",
        "probability": Decimal("0.05"),
        "total_quota": 100,
        "daily_quota": 10,
    },
    {
        "name": "$2 Cash Coupon",
        "category": "cash",
        "benefit_kind": CouponType.Kind.AMOUNT,
        "amount": Decimal(2),
        "currency": "USD",
        "probability": Decimal("0.15"),
        "total_quota": 500,
        "daily_quota": 50,
    },
    {
        "name": "Buy 1 get 1 free",
        "category": "bogo",
        "benefit_kind": CouponType.Kind.FREE_ITEM,
        "free_item": "Buy 1 get 1 free",
        "probability": Decimal("0.30"),
        "total_quota": 1000,
        "daily_quota": 100,
    },
]


def seed(stdout) -> None:
    if not Campaign.objects.filter(slug=SLUG).exists():
        now = timezone.now()
        campaign_create(
            acting_user=None,
            name="Lucky Draw",
            slug=SLUG,
            kind=Campaign.Kind.DRAW,
            timezone="Asia/Singapore",
            starts_at=now - dt.timedelta(days=1),
            ends_at=now + dt.timedelta(days=90),
            description="Draw once a day for a cash coupon or a buy-one-get-one.",
            coupon_types=PRIZES,
        )
    stdout.write(f"  Draw campaign:  /api/v1/campaigns/{SLUG} (POST …/draws to draw)")
