"""A claim campaign's figures: the pool, the claims and their holds, the releases.

The pool's coupons by state come from the coupons (``types``, counted by
``vouchers.figures.coupon_type_tallies``); ``claims_of`` adds what only the
claims know (one aggregate over the campaigns' claims), the dashboard the
releases (one aggregate, one short list). A claim ends redeemed (its holder
redeemed the coupon) or lapsed (its hold ran out first); the conversion is
redeemed / ended.
"""

import datetime as dt

from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum
from django.utils.translation import gettext

from campaigns.models import Campaign
from campaigns.selectors import on_campaign_days
from draws.claim.models import Claim, ReleaseSchedule, ReleaseScheduleRun
from draws.claim.scheduled_releases import schedule_next_run
from draws.pool import Release
from vouchers.models import Voucher

RECENT_RELEASES = 5

_NO_CLAIMS = {
    "claims": 0,
    "claims_today": 0,
    "redeemed": 0,
    "running": 0,
    "last_claim_at": None,
}


def claims_of(
    campaign_days: list[tuple[Campaign, dt.date]], *, now: dt.datetime
) -> dict[int, dict]:
    """Per campaign id: its claims in all and on its local day, those redeemed
    by their holder, those whose hold still runs, and when the latest was made
    (one query for all)."""
    redeemed_by_holder = Q(
        voucher__status=Voucher.Status.REDEEMED, voucher__owner_id=F("customer_id")
    )
    rows = (
        Claim.objects.filter(campaign__in=[campaign for campaign, _ in campaign_days])
        .values("campaign_id")
        .annotate(
            claims=Count("id"),
            claims_today=Count("id", filter=on_campaign_days(campaign_days)),
            redeemed=Count("id", filter=redeemed_by_holder),
            running=Count("id", filter=Q(held_until__gt=now) & ~redeemed_by_holder),
            last_claim_at=Max("created_at"),
        )
        .order_by()
    )
    found = {row.pop("campaign_id"): row for row in rows}
    return {
        campaign.pk: found.get(campaign.pk, _NO_CLAIMS) for campaign, _ in campaign_days
    }


def claim_headlines(
    campaign_days: list[tuple[Campaign, dt.date]], *, now: dt.datetime, types: dict
) -> dict[int, list[tuple[str, int]]]:
    """The start page's figures of each claim campaign: claims today, holds
    running and coupons free in the pool."""
    claims = claims_of(campaign_days, now=now)
    return {
        campaign.pk: [
            (gettext("claims today"), claims[campaign.pk]["claims_today"]),
            (gettext("holds running"), sum(t["held"] for t in types[campaign.pk])),
            (gettext("free in the pool"), sum(t["free"] for t in types[campaign.pk])),
        ]
        for campaign, _day in campaign_days
    }


def claim_dashboard(
    campaign: Campaign, *, now: dt.datetime, day: dt.date, types: list[dict]
) -> dict:
    """Pool available / held / redeemed / lapsed, claims today and in all, the
    holds running, hold-to-redemption conversion, when the pool sold out (the
    last claim, if nothing is free now) and the latest releases with who made
    them."""
    claims = claims_of([(campaign, day)], now=now)[campaign.pk]
    lapsed = claims["claims"] - claims["redeemed"] - claims["running"]
    ended = claims["redeemed"] + lapsed
    releases = Release.objects.filter(coupon_type__campaign=campaign)
    released = releases.aggregate(batches=Count("id"), coupons=Sum("count"))
    recent = releases.select_related(
        "coupon_type", "released_by", "schedule_run"
    ).order_by("-created_at", "-id")[:RECENT_RELEASES]
    free = sum(t["free"] for t in types)
    return {
        "available": free,
        "held": sum(t["held"] for t in types),
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
                "by": _released_by(release),
                "scheduled": hasattr(release, "schedule_run"),
                "note": release.note,
            }
            for release in recent
        ],
        "campaign_id": campaign.pk,
        "schedules": release_schedules_of(campaign, now=now, day=day),
    }


def _released_by(release: Release) -> str:
    if release.released_by:
        return release.released_by.get_username()
    run = getattr(release, "schedule_run", None)
    if run is not None:
        return gettext("schedule %(id)s") % {"id": run.schedule_id}
    return gettext("a command")


def release_schedules_of(
    campaign: Campaign, *, now: dt.datetime, day: dt.date
) -> list[dict]:
    """The campaign's release schedules: what each releases when, its next
    release (UTC) and whether it ran today (one query)."""
    schedules = (
        ReleaseSchedule.objects.filter(campaign=campaign)
        .select_related("coupon_type", "campaign")
        .annotate(
            ran_today=Exists(
                ReleaseScheduleRun.objects.filter(
                    schedule=OuterRef("pk"), local_day=day
                )
            )
        )
    )
    return [
        {
            "id": schedule.pk,
            "coupon_type": schedule.coupon_type.name,
            "count": schedule.count,
            "at": schedule.at,
            "starts_on": schedule.starts_on,
            "ends_on": schedule.ends_on,
            "active": schedule.active,
            "ran_today": schedule.ran_today,
            "next_run": schedule_next_run(
                schedule, now=now, ran_today=schedule.ran_today
            ),
        }
        for schedule in schedules
    ]
