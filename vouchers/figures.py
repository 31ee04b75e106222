"""What the coupons themselves say: counts by state, aggregated in the database.

Two readers: campaigns' coupon types (``coupon_type_tallies``, for the API's
figures, every mode's dashboard and the start page, through ``draws.figures``)
and the voucher pool's offers (``offer_tallies``, for the Offer admin). Each is
one ``GROUP BY`` query over the coupons of the campaigns asked about (the
voucher's campaign index) or of the offers, whatever their number.
"""

import datetime as dt

from django.db.models import Count, Q

from campaigns.models import Campaign
from vouchers.models import Voucher

Status = Voucher.Status


def issued_filter(now: dt.datetime) -> Q:
    """A coupon counts as issued from the moment a customer has it (a draw's
    win, a claim's hold, a grab) by its ``issued_at``; a hold that ran out does
    not count (its coupon is back in the pool)."""
    return Q(issued_at__isnull=False) & ~Q(status=Status.HELD, held_until__lte=now)


def coupon_type_tallies(
    local_days: list[tuple[Campaign, dt.datetime, dt.datetime]], *, now: dt.datetime
) -> dict[int, dict[int, dict]]:
    """Per campaign id, per coupon type id: its coupons issued in all and in the
    campaign's local day [start, end) given beside it, redeemed, held (hold
    running) and free in the pool (available, or held with the hold run out).
    Types without a coupon are missing. One query for all the campaigns."""
    issued = issued_filter(now)
    today = Q(pk__in=[])
    for campaign, day_starts, day_ends in local_days:
        today |= Q(campaign=campaign, issued_at__gte=day_starts, issued_at__lt=day_ends)
    rows = (
        Voucher.objects.filter(campaign__in=[campaign for campaign, _, _ in local_days])
        .values("campaign_id", "coupon_type_id")
        .annotate(
            issued_total=Count("id", filter=issued),
            issued_today=Count("id", filter=issued & today),
            redeemed=Count("id", filter=Q(status=Status.REDEEMED)),
            held=Count("id", filter=Q(status=Status.HELD, held_until__gt=now)),
            free=Count(
                "id",
                filter=Q(status=Status.AVAILABLE)
                | Q(status=Status.HELD, held_until__lte=now),
            ),
        )
        .order_by()
    )
    tallies: dict[int, dict[int, dict]] = {}
    for row in rows:
        campaign_id, type_id = row.pop("campaign_id"), row.pop("coupon_type_id")
        tallies.setdefault(campaign_id, {})[type_id] = row
    return tallies


def offer_tally_counts(now: dt.datetime, prefix: str = "") -> dict[str, Count]:
    """The voucher pool's counts as aggregate expressions over vouchers (``prefix``
    "vouchers__" to annotate offers): issued (every voucher made for an email),
    redeemed, expired (by status, or issued and past ``expires_at``) and
    outstanding (issued, still redeemable)."""
    unexpired = Q(**{f"{prefix}expires_at__isnull": True}) | Q(
        **{f"{prefix}expires_at__gt": now}
    )
    issued = Q(**{f"{prefix}status": Status.ISSUED})
    return {
        "issued": Count(f"{prefix}id"),
        "redeemed": Count(
            f"{prefix}id", filter=Q(**{f"{prefix}status": Status.REDEEMED})
        ),
        "expired": Count(
            f"{prefix}id",
            filter=Q(**{f"{prefix}status": Status.EXPIRED}) | (issued & ~unexpired),
        ),
        "outstanding": Count(f"{prefix}id", filter=issued & unexpired),
    }


def offer_tallies(now: dt.datetime, offer_ids: list[int] | None = None) -> dict:
    """The voucher pool's figures: per offer id and in all (``total``), in two
    queries at most. ``offer_ids``: only those offers (default: every one)."""
    vouchers = Voucher.objects.filter(offer__isnull=False)
    if offer_ids is not None:
        vouchers = vouchers.filter(offer_id__in=offer_ids)
    counts = offer_tally_counts(now)
    per_offer = {
        row.pop("offer_id"): row
        for row in vouchers.values("offer_id").annotate(**counts).order_by()
    }
    total = {name: sum(row[name] for row in per_offer.values()) for name in counts}
    return {"per_offer": per_offer, "total": total}
