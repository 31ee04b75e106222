"""A campaign's figures, in its local day: what every mode's coupons and rows say.

``campaigns`` publishes the API's shape (``CampaignFiguresSerializer``) and the
admin's dashboard, and asks for both through ``campaigns.figures``; this app
computes them, because the rows they count (draws, claims, rush days, grabs)
are its own. Each mode counts its rows in its own ``figures`` module
(``draws.draw.figures``, ``draws.claim.figures``, ``draws.rush.figures``);
this module gathers them by kind. Registered in ``DrawsConfig.ready``.
"""

import datetime as dt

from django.utils import timezone

from campaigns.models import Campaign
from draws.claim.figures import claim_dashboard
from draws.draw.figures import draw_dashboard, draws_on
from draws.rush.figures import rush_cycle_figures, rush_dashboard
from vouchers.figures import coupon_type_tallies

DASHBOARDS = {
    Campaign.Kind.DRAW: draw_dashboard,
    Campaign.Kind.CLAIM: claim_dashboard,
    Campaign.Kind.RUSH: rush_dashboard,
}


def _coupon_types(campaign: Campaign, now: dt.datetime) -> tuple[dt.date, list[dict]]:
    """The local day and each coupon type's coupons: issued today and in all,
    what the quotas leave, redeemed, held, free in the pool (two queries)."""
    day = campaign.local_day(now)
    tallies = coupon_type_tallies(
        campaign,
        now=now,
        day_starts=dt.datetime.combine(day, dt.time(0), tzinfo=campaign.tz),
        day_ends=campaign.next_local_midnight(now),
    )
    types = []
    for coupon_type in campaign.coupon_types.all():
        row = tallies.get(coupon_type.pk, {})
        issued_today = row.get("issued_today", 0)
        issued_total = row.get("issued_total", 0)
        types.append(
            {
                "id": coupon_type.pk,
                "name": coupon_type.name,
                "probability": coupon_type.probability,
                "daily_quota": coupon_type.daily_quota,
                "total_quota": coupon_type.total_quota,
                "issued_today": issued_today,
                "left_today": _left(
                    [
                        (coupon_type.daily_quota, issued_today),
                        (coupon_type.total_quota, issued_total),
                    ]
                ),
                "issued_total": issued_total,
                "left_total": _left([(coupon_type.total_quota, issued_total)]),
                "redeemed": row.get("redeemed", 0),
                "held": row.get("held", 0),
                "free": row.get("free", 0),
            }
        )
    return day, types


def campaign_figures(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """Today's and all-time figures of a campaign, in its local day (the API's).

    One source for every coupon figure, in every mode: the coupons themselves
    (``vouchers.figures.coupon_type_tallies``). ``vouchers_issued`` is the sum
    of the types' ``issued_total``, and a type's ``left_*`` is its quota minus
    the same counts. (The quota counters on ``CouponType`` are the draw's
    enforcement, not a figure: for draws they agree with these counts.)
    """
    now = now or timezone.now()
    day, types = _coupon_types(campaign, now)
    draws = draws_on(campaign, day)
    return {
        "day": day,
        "rush": rush_cycle_figures(campaign, now)
        if campaign.kind == Campaign.Kind.RUSH
        else None,
        "draws_today": draws["draws"],
        "wins_today": draws["wins"],
        "vouchers_issued": sum(t["issued_total"] for t in types),
        "vouchers_redeemed": sum(t["redeemed"] for t in types),
        "holds_now": sum(t["held"] for t in types),
        "coupon_types": types,
    }


def campaign_dashboard(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """The admin's dashboard of a campaign: its kind's figures (the mode's
    ``*_dashboard``), the coupon types' counts, the zone and local day they are
    in, and whether it runs now (its page then refreshes them). The kind's
    ``headline`` is what the back office's start page shows."""
    now = now or timezone.now()
    day, types = _coupon_types(campaign, now)
    for coupon_type in types:
        coupon_type["share_today"] = _share(
            coupon_type["issued_today"], coupon_type["daily_quota"]
        )
        coupon_type["share_total"] = _share(
            coupon_type["issued_total"], coupon_type["total_quota"]
        )
    return {
        "kind": campaign.kind,
        "zone": campaign.timezone,
        "day": day,
        "local_time": campaign.local_now(now),
        "running": campaign.is_running(now),
        "template": f"draws/{campaign.kind}/dashboard.html",
        "types": types,
        "issued_today": sum(t["issued_today"] for t in types),
        "issued": sum(t["issued_total"] for t in types),
        "redeemed": sum(t["redeemed"] for t in types),
        **DASHBOARDS[campaign.kind](campaign, now=now, day=day, types=types),
    }


def _left(limits: list[tuple[int | None, int]]) -> int | None:
    """What the tightest of the (quota, used) pairs leaves; None when all are unlimited."""
    lefts = [quota - used for quota, used in limits if quota is not None]
    return max(0, min(lefts)) if lefts else None


def _share(used: int, quota: int | None) -> int | None:
    """Percent of ``quota`` used (capped at 100); None when unlimited."""
    if not quota:
        return None
    return min(100, round(100 * used / quota))
