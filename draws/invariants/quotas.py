"""Quotas: issued within them (rule 1), and their counters equal the wins (rule 5)."""

import datetime as dt

from django.db.models import Count, F, OuterRef, Q

from campaigns.models import Campaign, CouponType
from draws.invariants.base import DEFAULT_LIMIT, Breach, RuleResult, count_of, result_of
from draws.models import Draw
from vouchers.figures import issued_filter
from vouchers.models import Voucher

# --- 1. Issued within the quotas ---------------------------------------------------


def quota_total_kept(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """A draw campaign's coupon type never issued more than its ``total_quota``.

    "Issued" is the figures' definition (``vouchers.figures.issued_filter``):
    a coupon counts from the moment a customer had it, voided or redeemed
    since or not; a lapsed hold does not. Quotas are enforced by draws only
    (``campaigns.services.quota_take``), so only draw campaigns are checked.
    """
    types = CouponType.objects.filter(
        campaign__kind=Campaign.Kind.DRAW, total_quota__isnull=False
    )
    issued = Voucher.objects.filter(issued_filter(now), coupon_type=OuterRef("pk"))
    over = (
        types.annotate(issued=count_of(issued))
        .filter(issued__gt=F("total_quota"))
        .values("pk", "campaign_id", "total_quota", "issued")
        .order_by("pk")
    )
    return result_of(
        "QUOTA_TOTAL_EXCEEDED",
        "issued <= total quota per coupon type",
        types.count(),
        over,
        lambda row: Breach(
            "QUOTA_TOTAL_EXCEEDED",
            f"Coupon type {row['pk']} issued {row['issued']} coupons, "
            f"over its total quota of {row['total_quota']}.",
            {
                "coupon_type": row["pk"],
                "campaign": row["campaign_id"],
                "total_quota": row["total_quota"],
                "issued": row["issued"],
            },
        ),
        limit,
    )


def quota_daily_kept(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """A draw campaign's coupon type never issued more than its ``daily_quota``
    in one local day. A draw's coupon is issued by its winning ``Draw`` row,
    which keeps the campaign's local day (``Draw.day``): wins per type and day."""
    wins = Draw.objects.filter(
        won=True,
        campaign__kind=Campaign.Kind.DRAW,
        coupon_type__daily_quota__isnull=False,
    )
    over = (
        wins.values("coupon_type_id", "campaign_id", "day", "coupon_type__daily_quota")
        .annotate(issued=Count("id"))
        .filter(issued__gt=F("coupon_type__daily_quota"))
        .order_by("coupon_type_id", "day")
    )
    checked = wins.values("coupon_type_id", "day").distinct().count()
    return result_of(
        "QUOTA_DAILY_EXCEEDED",
        "issued <= daily quota per coupon type and local day",
        checked,
        over,
        lambda row: Breach(
            "QUOTA_DAILY_EXCEEDED",
            f"Coupon type {row['coupon_type_id']} issued {row['issued']} coupons "
            f"on {row['day']}, over its daily quota of "
            f"{row['coupon_type__daily_quota']}.",
            {
                "coupon_type": row["coupon_type_id"],
                "campaign": row["campaign_id"],
                "day": row["day"].isoformat(),
                "daily_quota": row["coupon_type__daily_quota"],
                "issued": row["issued"],
            },
        ),
        limit,
    )


# --- 5. Quota counters equal the wins they count --------------------------------------


def quota_counters_match(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """A draw campaign's coupon type counters are the draw's enforcement
    (``quota_take``; see ``draws.figures.campaign_figures``): ``issued_total``
    equals its winning draws, ``issued_today`` its wins on ``quota_day`` (0 while
    ``quota_day`` is unset)."""
    wins = Draw.objects.filter(won=True, coupon_type_id=OuterRef("pk"))
    types = CouponType.objects.filter(campaign__kind=Campaign.Kind.DRAW)
    wrong = (
        types.annotate(
            wins=count_of(wins),
            wins_on_day=count_of(wins.filter(day=OuterRef("quota_day"))),
        )
        .filter(~Q(issued_total=F("wins")) | ~Q(issued_today=F("wins_on_day")))
        .values(
            "pk",
            "campaign_id",
            "issued_total",
            "issued_today",
            "quota_day",
            "wins",
            "wins_on_day",
        )
        .order_by("pk")
    )
    return result_of(
        "QUOTA_COUNTER_MISMATCH",
        "coupon type counters equal its draw wins (in all; on quota_day)",
        types.count(),
        wrong,
        lambda row: Breach(
            "QUOTA_COUNTER_MISMATCH",
            f"Coupon type {row['pk']} counts {row['issued_total']} issued "
            f"({row['issued_today']} on {row['quota_day']}) but has {row['wins']} "
            f"winning draws ({row['wins_on_day']} that day).",
            {
                "coupon_type": row["pk"],
                "campaign": row["campaign_id"],
                "day": row["quota_day"] and row["quota_day"].isoformat(),
                "issued_total": row["issued_total"],
                "issued_today": row["issued_today"],
                "wins": row["wins"],
                "wins_on_day": row["wins_on_day"],
            },
        ),
        limit,
    )
