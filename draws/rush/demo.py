"""A nightly flash-sale rush for ``manage.py seed_demo`` (idempotent)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, CouponType
from campaigns.services import campaign_create

SLUG = "nightly-rush"


def seed(stdout) -> None:
    """Seed 003's rush: reserve 22:55-22:59:59, grab 23:00:00-23:00:59, 20% win."""
    if not Campaign.objects.filter(slug=SLUG).exists():
        now = timezone.now()
        campaign_create(
            acting_user=None,
            name="Nightly Flash Rush",
            slug=SLUG,
            kind=Campaign.Kind.RUSH,
            timezone="Asia/Taipei",
            starts_at=now - dt.timedelta(days=1),
            ends_at=now + dt.timedelta(days=90),
            description=(
                "Reserve between 22:55 and 23:00 (Taipei time), then grab at 23:00: "
                "one coupon for every five reservations, first come first served."
            ),
            reservation_opens=dt.time(22, 55),
            reservation_closes=dt.time(22, 59, 59),
            rush_opens=dt.time(23, 0),
            rush_closes=dt.time(23, 0, 59),
            ratio=Decimal("0.2"),
            coupon_types=[
                {
                    "name": "NT$100 off",
                    "category": "cash",
                    "benefit_kind": CouponType.Kind.AMOUNT,
                    "amount": Decimal(100),
                    "currency": "TWD",
                    "valid_days": 7,
                    "code_prefix": "FR",
                }
            ],
        )
    stdout.write(
        f"  Rush campaign:  /api/v1/campaigns/{SLUG} (POST …/reservations "
        "22:55-22:59:59 Asia/Taipei, then …/grabs at 23:00)"
    )
