"""Quotas: issued within them (rule 1), their counters equal the wins (rule 5),
and a sharded type's shards add up to it."""

import datetime as dt

from django.db.models import (
    Case,
    Count,
    F,
    Func,
    OuterRef,
    PositiveIntegerField,
    Q,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_noop

from campaigns.models import Campaign, CouponType, QuotaShard
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
    (``campaigns.quotas.quota_take``), so only draw campaigns are checked.
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
        gettext_noop("issued <= total quota per coupon type"),
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
        gettext_noop("issued <= daily quota per coupon type and local day"),
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


def _shards_sum(field: str, **filters):
    """The sum of ``field`` over the outer type's shards (0 without shards)."""
    rows = (
        QuotaShard.objects.filter(coupon_type=OuterRef("pk"), **filters)
        .order_by()
        .annotate(_sum=Func(F(field), function="SUM"))
        .values("_sum")[:1]
    )
    return Coalesce(Subquery(rows, output_field=PositiveIntegerField()), 0)


def quota_counters_match(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """A draw campaign's coupon type counters are the draw's enforcement
    (``quota_take``; see ``draws.figures.campaign_figures``): what they issued
    equals its winning draws in all, and on their day (the latest any of them
    is on; 0 while none is). The counters are the type row's and, for a
    sharded type, its shards' (``campaigns.quotas.quota_issued``: the type
    row's stay 0, and a shard still on an earlier day issued 0 on this one)."""
    wins = Draw.objects.filter(won=True, coupon_type_id=OuterRef("pk"))
    latest_shard_day = Subquery(
        QuotaShard.objects.filter(coupon_type=OuterRef("pk"))
        .order_by(F("quota_day").desc(nulls_last=True))
        .values("quota_day")[:1]
    )
    types = CouponType.objects.filter(campaign__kind=Campaign.Kind.DRAW)
    wrong = (
        types.annotate(
            counted_day=Case(
                When(quota_shards__gt=1, then=latest_shard_day),
                default=F("quota_day"),
            ),
        )
        .annotate(
            counted_total=F("issued_total") + _shards_sum("issued_total"),
            counted_today=Case(
                When(
                    quota_shards__gt=1,
                    then=F("issued_today")
                    + _shards_sum("issued_today", quota_day=OuterRef("counted_day")),
                ),
                default=F("issued_today"),
            ),
            wins=count_of(wins),
            wins_on_day=count_of(wins.filter(day=OuterRef("counted_day"))),
        )
        .filter(~Q(counted_total=F("wins")) | ~Q(counted_today=F("wins_on_day")))
        .values(
            "pk",
            "campaign_id",
            "quota_shards",
            "counted_total",
            "counted_today",
            "counted_day",
            "wins",
            "wins_on_day",
        )
        .order_by("pk")
    )
    return result_of(
        "QUOTA_COUNTER_MISMATCH",
        gettext_noop("coupon type counters equal its draw wins (in all; on quota_day)"),
        types.count(),
        wrong,
        lambda row: Breach(
            "QUOTA_COUNTER_MISMATCH",
            f"Coupon type {row['pk']} counts {row['counted_total']} issued "
            f"({row['counted_today']} on {row['counted_day']}) but has {row['wins']} "
            f"winning draws ({row['wins_on_day']} that day).",
            {
                "coupon_type": row["pk"],
                "campaign": row["campaign_id"],
                "quota_shards": row["quota_shards"],
                "day": row["counted_day"] and row["counted_day"].isoformat(),
                "issued_total": row["counted_total"],
                "issued_today": row["counted_today"],
                "wins": row["wins"],
                "wins_on_day": row["wins_on_day"],
            },
        ),
        limit,
    )


def quota_shares_add_up(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """A sharded coupon type (``quota_shards`` > 1) has exactly that many
    shards, their shares sum to its quotas (``campaigns.quotas.quota_spread``
    keeps them so; null shares for an unlimited quota) and its own row's
    counters are 0; an unsharded type has no shards. Each shard within its
    share is a check constraint."""
    shards = QuotaShard.objects.filter(coupon_type=OuterRef("pk"))
    types = CouponType.objects.all()
    wrong = (
        types.annotate(
            shards=count_of(shards),
            unlimited_total=count_of(shards.filter(total_share__isnull=True)),
            unlimited_daily=count_of(shards.filter(daily_share__isnull=True)),
            total_shares=_shards_sum("total_share"),
            daily_shares=_shards_sum("daily_share"),
        )
        .filter(
            Q(quota_shards=1, shards__gt=0)
            | Q(quota_shards__gt=1)
            & (
                ~Q(shards=F("quota_shards"))
                | ~Q(issued_total=0)
                | ~Q(issued_today=0)
                | Q(total_quota__isnull=True, unlimited_total__lt=F("shards"))
                | Q(total_quota__isnull=False, unlimited_total__gt=0)
                | (Q(total_quota__isnull=False) & ~Q(total_shares=F("total_quota")))
                | Q(daily_quota__isnull=True, unlimited_daily__lt=F("shards"))
                | Q(daily_quota__isnull=False, unlimited_daily__gt=0)
                | (Q(daily_quota__isnull=False) & ~Q(daily_shares=F("daily_quota")))
            )
        )
        .values(
            "pk",
            "campaign_id",
            "quota_shards",
            "shards",
            "total_quota",
            "total_shares",
            "daily_quota",
            "daily_shares",
        )
        .order_by("pk")
    )
    return result_of(
        "QUOTA_SHARES_MISMATCH",
        gettext_noop("a sharded type's shards and their shares add up to it"),
        types.count(),
        wrong,
        lambda row: Breach(
            "QUOTA_SHARES_MISMATCH",
            f"Coupon type {row['pk']} is spread over {row['quota_shards']} rows "
            f"but has {row['shards']} shards sharing {row['total_shares']} of its "
            f"total quota {row['total_quota']} and {row['daily_shares']} of its "
            f"daily quota {row['daily_quota']} (or counts on its own row).",
            {
                "coupon_type": row["pk"],
                "campaign": row["campaign_id"],
                "quota_shards": row["quota_shards"],
                "shards": row["shards"],
                "total_quota": row["total_quota"],
                "total_shares": row["total_shares"],
                "daily_quota": row["daily_quota"],
                "daily_shares": row["daily_shares"],
            },
        ),
        limit,
    )
