"""A campaign's redemptions over time, in every mode (the back office's "Over time")."""

from django.utils.translation import gettext

from campaigns.models import Campaign
from couponsite.charts import Chart, Series
from couponsite.timeseries import Span, counted
from vouchers.models import Voucher


def redemption_timeline(campaign: Campaign, span: Span) -> Chart:
    """The campaign's coupons redeemed per bucket, by when (one query).

    A redemption staff rolled back is no longer one (its ``used_at`` is cleared).
    """
    redeemed = Voucher.objects.filter(campaign=campaign, status=Voucher.Status.REDEEMED)
    counts = counted(redeemed, "used_at", span)
    label = gettext("Redemptions")
    return Chart(title=label, series=[Series(label, counts["count"])])
