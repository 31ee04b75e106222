"""Builders and invariant checks shared by the claim-and-hold tests."""

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from campaigns.models import Campaign, CouponType
from campaigns.services import campaign_create
from customers.models import Customer
from draws.claim.releases import batch_release
from draws.models import Claim
from vouchers.models import Voucher


def claim_campaign(
    *,
    slug: str = "drop",
    tz: str = "UTC",
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    hold_seconds: int = 300,
    released: int = 0,
    types: int = 1,
) -> Campaign:
    """A running claim campaign with ``types`` coupon types and ``released`` coupons of the first."""
    now = timezone.now()
    campaign = campaign_create(
        acting_user=None,
        name=f"Drop {slug}",
        slug=slug,
        kind=Campaign.Kind.CLAIM,
        timezone=tz,
        starts_at=starts_at or now - dt.timedelta(days=30),
        ends_at=ends_at or now + dt.timedelta(days=3650),
        coupon_types=[
            {
                "name": f"Category {n}",
                "category": f"cat{n}",
                "benefit_kind": CouponType.Kind.PERCENT,
                "percent": Decimal(10 + n),
                "hold_seconds": hold_seconds,
                "code_prefix": "CP",
            }
            for n in range(types)
        ],
    )
    if released:
        batch_release(
            acting_user=None, coupon_type=first_type(campaign), count=released
        )
    return campaign


def first_type(campaign: Campaign) -> CouponType:
    return campaign.coupon_types.order_by("id").first()


def make_customers(count: int, *, start: int = 7000) -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(phone=f"+1415555{start + n:04d}", email=f"c{start + n}@example.com")
        for n in range(count)
    )


def assert_pool_invariants() -> None:
    """One holder per coupon at any moment; one claim per customer a day."""
    overlapping = Claim.objects.filter(
        Exists(
            Claim.objects.filter(
                voucher=OuterRef("voucher"),
                created_at__lt=OuterRef("held_until"),
                held_until__gt=OuterRef("created_at"),
            ).exclude(pk=OuterRef("pk"))
        )
    )
    assert not overlapping.exists(), "a coupon had two holders at once"
    twice_a_day = (
        Claim.objects.values("customer", "campaign", "day")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not twice_a_day.exists(), "a customer claimed twice in one day"
    held_by_claims = Voucher.objects.filter(status=Voucher.Status.HELD).exclude(
        Exists(
            Claim.objects.filter(
                voucher=OuterRef("pk"),
                customer=OuterRef("owner"),
                held_until=OuterRef("held_until"),
            )
        )
    )
    assert not held_by_claims.exists(), "a held coupon has no claim behind it"
