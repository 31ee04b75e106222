"""A claim campaign's claims and lapsed holds over time (the back office's "Over time")."""

import datetime as dt

from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaigns.models import Campaign
from couponsite.charts import Chart, Series
from couponsite.timeseries import Span, counted
from draws.claim.models import Claim
from vouchers.models import Voucher


def claim_timeline(
    campaign: Campaign, span: Span, now: dt.datetime | None = None
) -> Chart:
    """Claims per bucket by when they were made, and lapses by when the hold
    ran out (two queries); per day, both by the claim's local day (a hold is
    minutes long: one that runs past midnight counts on the day it began).

    A claim lapsed when its hold ended (before ``now``) without its holder
    redeeming the coupon during the hold; its coupon went back to the pool.
    """
    now = now or timezone.now()
    claims = Claim.objects.filter(campaign=campaign)
    # The campaign's redeemed coupons are few beside its claims and have their
    # own index: Postgres hashes them once and anti-joins the claims.
    redeemed_in_hold = Voucher.objects.filter(
        campaign=campaign,
        status=Voucher.Status.REDEEMED,
        pk=OuterRef("voucher_id"),
        owner_id=OuterRef("customer_id"),
        used_at__gte=OuterRef("created_at"),
        used_at__lt=OuterRef("held_until"),
    )
    made = counted(claims, "created_at", span, day_field="day")
    lapsed = counted(
        claims.filter(held_until__lte=now).exclude(Exists(redeemed_in_hold)),
        "held_until",
        span,
        day_field="day",
    )
    return Chart(
        title="Claims and lapsed holds",
        series=[Series("Claims", made["count"]), Series("Lapses", lapsed["count"])],
    )
