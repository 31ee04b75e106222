"""A campaign's figures, in its local day: what every mode's coupons and rows say.

``campaigns`` publishes the API's shape (``CampaignFiguresSerializer``) and the
admin's dashboard, and asks for both through ``campaigns.figures``; this app
computes them, because the rows they count (draws, claims, rush days, grabs)
are its own. Each mode counts its rows in its own ``figures`` module
(``draws.draw.figures``, ``draws.claim.figures``, ``draws.rush.figures``);
this module gathers them by kind. Registered in ``DrawsConfig.ready``.
"""

import datetime as dt

from django.db.models import prefetch_related_objects
from django.utils import timezone

from campaigns.models import Campaign, CouponType
from draws.claim.figures import claim_dashboard, claim_headlines
from draws.draw.figures import draw_dashboard, draw_headlines, draws_on
from draws.rush.figures import rush_cycles, rush_dashboard, rush_headlines
from vouchers.figures import coupon_type_tallies

DASHBOARDS = {
    Campaign.Kind.DRAW: draw_dashboard,
    Campaign.Kind.CLAIM: claim_dashboard,
    Campaign.Kind.RUSH: rush_dashboard,
}
HEADLINES = {
    Campaign.Kind.DRAW: draw_headlines,
    Campaign.Kind.CLAIM: claim_headlines,
    Campaign.Kind.RUSH: rush_headlines,
}


def _coupon_types(
    campaigns: list[Campaign], now: dt.datetime
) -> dict[int, tuple[dt.date, list[dict]]]:
    """Per campaign id: its local day and each of its coupon types' coupons:
    issued today and in all, what the quotas leave, redeemed, held, free in the
    pool (two queries for all the campaigns)."""
    days = {campaign.pk: campaign.local_day(now) for campaign in campaigns}
    tallies = coupon_type_tallies(
        [
            (
                campaign,
                dt.datetime.combine(days[campaign.pk], dt.time(0), tzinfo=campaign.tz),
                campaign.next_local_midnight(now),
            )
            for campaign in campaigns
        ],
        now=now,
    )
    # One query for all, unless the caller prefetched them (the API's detail).
    prefetch_related_objects(campaigns, "coupon_types")
    return {
        campaign.pk: (
            days[campaign.pk],
            [
                _type_figures(
                    coupon_type, tallies.get(campaign.pk, {}).get(coupon_type.pk, {})
                )
                for coupon_type in campaign.coupon_types.all()
            ],
        )
        for campaign in campaigns
    }


def _type_figures(coupon_type: CouponType, row: dict) -> dict:
    issued_today = row.get("issued_today", 0)
    issued_total = row.get("issued_total", 0)
    return {
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


def campaign_figures(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """Today's and all-time figures of a campaign, in its local day (the API's).

    One source for every coupon figure, in every mode: the coupons themselves
    (``vouchers.figures.coupon_type_tallies``). ``vouchers_issued`` is the sum
    of the types' ``issued_total``, and a type's ``left_*`` is its quota minus
    the same counts. (The quota counters on ``CouponType`` are the draw's
    enforcement, not a figure: for draws they agree with these counts.)
    """
    now = now or timezone.now()
    day, types = _coupon_types([campaign], now)[campaign.pk]
    draws = draws_on([(campaign, day)])[campaign.pk]
    return {
        "day": day,
        "rush": rush_cycles([campaign], now)[campaign.pk]
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
    in, and whether it runs now (its page then refreshes them)."""
    now = now or timezone.now()
    day, types = _coupon_types([campaign], now)[campaign.pk]
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
        **DASHBOARDS[campaign.kind](campaign, now=now, day=day, types=types),
    }


def campaigns_headlines(
    campaigns: list[Campaign], now: dt.datetime | None = None
) -> dict[int, dict]:
    """The back office's start page: per campaign id its zone, local day and
    today's key figures for its kind (``headline``: (label, value) pairs), in a
    few queries for all the campaigns (two, and one or two per kind)."""
    now = now or timezone.now()
    coupon_types = _coupon_types(campaigns, now)
    headlines: dict[int, list] = {}
    for kind, headlines_of in HEADLINES.items():
        of_kind = [c for c in campaigns if c.kind == kind]
        if of_kind:
            headlines |= headlines_of(
                [(c, coupon_types[c.pk][0]) for c in of_kind],
                now=now,
                types={c.pk: coupon_types[c.pk][1] for c in of_kind},
            )
    return {
        campaign.pk: {
            "zone": campaign.timezone,
            "day": coupon_types[campaign.pk][0],
            "headline": headlines[campaign.pk],
        }
        for campaign in campaigns
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
