"""A campaign's figures, in its local day: what every mode's coupons and rows say.

``campaigns`` publishes the shape (``CampaignFiguresSerializer``) and asks for
them through ``campaigns.figures``; this app computes them, because the rows
they count (draws, claims, rush days, grabs) are its own. Registered in
``DrawsConfig.ready``.
"""

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.schedule import RushWindows
from draws.draw.models import Draw
from draws.rush.models import Grab, RushDay
from vouchers.models import Voucher


def campaign_figures(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """Today's and all-time figures of a campaign, in its local day.

    One source for every coupon figure, in every mode: the coupons themselves.
    A coupon counts as issued from the moment a customer has it (a draw's win,
    a claim's hold, a grab) by its ``issued_at``; a hold that ran out does not
    count (its coupon is back in the pool). ``vouchers_issued`` is the sum of
    the types' ``issued_total``, and a type's ``left_*`` is its quota minus
    the same counts. (The quota counters on ``CouponType`` are the draw's
    enforcement, not a figure: for draws they agree with these counts.)
    """
    now = now or timezone.now()
    day = campaign.local_day(now)
    day_starts = dt.datetime.combine(day, dt.time(0), tzinfo=campaign.tz)
    draws = Draw.objects.filter(campaign=campaign, day=day).aggregate(
        draws=Count("id"), wins=Count("id", filter=Q(won=True))
    )
    issued = Q(issued_at__isnull=False) & ~Q(
        status=Voucher.Status.HELD, held_until__lte=now
    )
    rows = (
        Voucher.objects.filter(campaign=campaign)
        .values("coupon_type_id")
        .annotate(
            issued_total=Count("id", filter=issued),
            issued_today=Count(
                "id",
                filter=issued
                & Q(
                    issued_at__gte=day_starts,
                    issued_at__lt=campaign.next_local_midnight(now),
                ),
            ),
            redeemed=Count("id", filter=Q(status=Voucher.Status.REDEEMED)),
            held=Count("id", filter=Q(status=Voucher.Status.HELD, held_until__gt=now)),
        )
        .order_by()
    )
    by_type = {row["coupon_type_id"]: row for row in rows}
    types = []
    for coupon_type in campaign.coupon_types.all():
        row = by_type.get(coupon_type.pk, {})
        issued_today = row.get("issued_today", 0)
        issued_total = row.get("issued_total", 0)
        types.append(
            {
                "id": coupon_type.pk,
                "name": coupon_type.name,
                "issued_today": issued_today,
                "left_today": _left(
                    [
                        (coupon_type.daily_quota, issued_today),
                        (coupon_type.total_quota, issued_total),
                    ]
                ),
                "issued_total": issued_total,
                "left_total": _left([(coupon_type.total_quota, issued_total)]),
            }
        )
    return {
        "day": day,
        "rush": _rush_figures(campaign, now)
        if campaign.kind == Campaign.Kind.RUSH
        else None,
        "draws_today": draws["draws"],
        "wins_today": draws["wins"],
        "vouchers_issued": sum(t["issued_total"] for t in types),
        "vouchers_redeemed": sum(row["redeemed"] for row in by_type.values()),
        "holds_now": sum(row["held"] for row in by_type.values()),
        "coupon_types": types,
    }


def _left(limits: list[tuple[int | None, int]]) -> int | None:
    """What the tightest of the (quota, used) pairs leaves; None when all are unlimited."""
    lefts = [quota - used for quota, used in limits if quota is not None]
    return max(0, min(lefts)) if lefts else None


def _rush_figures(campaign: Campaign, now: dt.datetime) -> dict:
    """The latest rush cycle that opened: its day, reservations, coupons and grabs."""
    cycle = RushWindows.of(campaign).latest_cycle(campaign.tz, now)
    rush_day = RushDay.objects.filter(campaign=campaign, day=cycle.day).first()
    grabs = Grab.objects.filter(campaign=campaign, day=cycle.day)
    grab_count = grabs.count()
    coupons = rush_day.coupons if rush_day else 0
    return {
        "day": cycle.day,
        "reservation_opens": cycle.reservation_opens,
        "rush_opens": cycle.rush_opens,
        "rush_closes": cycle.rush_ends,
        "reservations": rush_day.reservations if rush_day else 0,
        "coupons": coupons,
        "grabs": grab_count,
        "sold_out_at": grabs.order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
        if coupons and grab_count >= coupons
        else None,
    }
