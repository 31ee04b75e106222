"""A claim campaign's claims and lapsed holds over time (the back office's "Over time")."""

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.models import Campaign
from couponsite.charts import Chart, Series
from couponsite.timeseries import Span, counted
from draws.claim.models import Claim
from vouchers.models import Voucher


def claim_timeline(
    campaign: Campaign, span: Span, now: dt.datetime | None = None
) -> Chart:
    """Claims per bucket by when they were made, and lapses by when the hold
    ran out; per day, both by the claim's local day (a hold is minutes long:
    one that runs past midnight counts on the day it began).

    A claim lapsed when its hold ended (before ``now``) without its holder
    redeeming the coupon; the coupon went back to the pool. Lapses are the
    holds that ended less those redeemed, with no join of claims to coupons:
    a claim campaign's coupon is redeemed only inside a hold, and it keeps its
    last hold's ``issued_at`` (the claim's ``created_at``) and ``held_until``
    (``draws.claim.services._hold``), so a redeemed coupon falls in the same
    bucket as the claim it ended. Three queries (two per day).
    """
    now = now or timezone.now()
    claims = Claim.objects.filter(campaign=campaign)
    ended = Q(held_until__lte=now)
    if span.unit == "day":
        counts = counted(
            claims,
            "created_at",
            span,
            day_field="day",
            made=Count("pk"),
            ended=Count("pk", filter=ended),
        )
        made, ended_holds, redeemed_by = counts["made"], counts["ended"], "issued_at"
    else:
        made = counted(claims, "created_at", span)["count"]
        ended_holds = counted(claims.filter(ended), "held_until", span)["count"]
        redeemed_by = "held_until"
    redeemed_coupons = Voucher.objects.filter(
        campaign=campaign, status=Voucher.Status.REDEEMED
    ).filter(ended)
    if redeemed_by == "issued_at":  # redeemed after the claim: on the index
        redeemed_coupons = redeemed_coupons.filter(used_at__gte=span.start)
    redeemed = counted(redeemed_coupons, redeemed_by, span)["count"]
    lapses = [
        max(0, holds - used) for holds, used in zip(ended_holds, redeemed, strict=True)
    ]
    return Chart(
        title=gettext("Claims and lapsed holds"),
        series=[Series(gettext("Claims"), made), Series(gettext("Lapses"), lapses)],
    )
