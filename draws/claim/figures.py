"""A claim campaign's figures: the pool, the claims and their holds, the releases.

The pool's coupons by state come from the coupons (``types``, counted by
``vouchers.figures.coupon_type_tallies``); this adds what only the claims know
(one aggregate over the campaign's claims) and the releases (one aggregate, one
short list). A claim ends redeemed (its holder redeemed the coupon) or lapsed
(its hold ran out first); the conversion is redeemed / ended.
"""

import datetime as dt

from django.db.models import Count, F, Max, Q, Sum

from campaigns.models import Campaign
from draws.claim.models import Claim
from draws.pool import Release
from vouchers.models import Voucher

RECENT_RELEASES = 5


def claim_dashboard(
    campaign: Campaign, *, now: dt.datetime, day: dt.date, types: list[dict]
) -> dict:
    """Pool available / held / redeemed / lapsed, claims today and in all, the
    holds running, hold-to-redemption conversion, when the pool sold out (the
    last claim, if nothing is free now) and the latest releases with who made
    them."""
    redeemed_by_holder = Q(
        voucher__status=Voucher.Status.REDEEMED, voucher__owner_id=F("customer_id")
    )
    claims = Claim.objects.filter(campaign=campaign).aggregate(
        claims=Count("id"),
        claims_today=Count("id", filter=Q(day=day)),
        redeemed=Count("id", filter=redeemed_by_holder),
        running=Count("id", filter=Q(held_until__gt=now) & ~redeemed_by_holder),
        last_claim_at=Max("created_at"),
    )
    lapsed = claims["claims"] - claims["redeemed"] - claims["running"]
    ended = claims["redeemed"] + lapsed
    released = Release.objects.filter(coupon_type__campaign=campaign).aggregate(
        batches=Count("id"), coupons=Sum("count")
    )
    recent = list(
        Release.objects.filter(coupon_type__campaign=campaign)
        .select_related("coupon_type", "released_by")
        .order_by("-created_at", "-id")[:RECENT_RELEASES]
    )
    free = sum(t["free"] for t in types)
    held = sum(t["held"] for t in types)
    return {
        "available": free,
        "held": held,
        "redeemed": sum(t["redeemed"] for t in types),
        "lapsed": lapsed,
        "claims": claims["claims"],
        "claims_today": claims["claims_today"],
        "conversion": claims["redeemed"] / ended if ended else None,
        "sold_out_at": claims["last_claim_at"]
        if free == 0 and released["batches"]
        else None,
        "released_batches": released["batches"],
        "released_coupons": released["coupons"] or 0,
        "releases": [
            {
                "created_at": release.created_at,
                "count": release.count,
                "coupon_type": release.coupon_type.name,
                "by": release.released_by.get_username()
                if release.released_by
                else "a command",
                "note": release.note,
            }
            for release in recent
        ],
        "headline": [
            ("claims today", claims["claims_today"]),
            ("holds running", held),
            ("free in the pool", free),
        ],
    }
