"""A claim campaign's claims and lapsed holds over time (the back office's "Over time")."""

import datetime as dt

from django.db.models import F, Q
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
    ran out (two queries).

    A claim lapsed when its hold ended (before ``now``) without its holder
    redeeming the coupon during the hold; its coupon went back to the pool.
    """
    now = now or timezone.now()
    claims = Claim.objects.filter(campaign=campaign)
    redeemed_in_hold = Q(
        voucher__status=Voucher.Status.REDEEMED,
        voucher__owner_id=F("customer_id"),
        voucher__used_at__gte=F("created_at"),
        voucher__used_at__lt=F("held_until"),
    )
    made = counted(claims, "created_at", span, day_field="day")
    lapsed = counted(
        claims.filter(held_until__lte=now).exclude(redeemed_in_hold),
        "held_until",
        span,
    )
    return Chart(
        title="Claims and lapsed holds",
        series=[Series("Claims", made["count"]), Series("Lapses", lapsed["count"])],
    )
