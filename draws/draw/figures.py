"""A lucky draw's figures: draws and wins, the odds set beside the odds seen.

``draws_on`` counts each campaign's draws and wins on its local day, for the
API's ``draws_today``/``wins_today``, the dashboard and the start page alike;
``draw_dashboard`` adds the all-time counts and each type's observed win rate,
in one more query (``GROUP BY coupon_type`` over the campaign's draws, on the
``draw_campaign_day`` index), and the latest days' seeds in one more.
"""

import datetime as dt

from django.db.models import Count, Q
from django.utils.translation import gettext

from campaigns.models import Campaign
from campaigns.selectors import on_campaign_days
from draws.draw.fairness import seed_shown
from draws.draw.models import Draw, DrawSeed


def draws_on(campaign_days: list[tuple[Campaign, dt.date]]) -> dict[int, dict]:
    """Per campaign id: how many customers drew on its local day, and how many
    of them won (one query for all)."""
    rows = (
        Draw.objects.filter(on_campaign_days(campaign_days))
        .values("campaign_id")
        .annotate(draws=Count("id"), wins=Count("id", filter=Q(won=True)))
        .order_by()
    )
    found = {row.pop("campaign_id"): row for row in rows}
    return {
        campaign.pk: found.get(campaign.pk, {"draws": 0, "wins": 0})
        for campaign, _ in campaign_days
    }


def draw_headlines(
    campaign_days: list[tuple[Campaign, dt.date]], *, now: dt.datetime, types: dict
) -> dict[int, list[tuple[str, int]]]:
    """The start page's figures of each draw campaign: today's draws, wins and
    coupons issued (``types``: each campaign's coupon types' counts)."""
    today = draws_on(campaign_days)
    return {
        campaign.pk: [
            (gettext("draws today"), today[campaign.pk]["draws"]),
            (gettext("wins today"), today[campaign.pk]["wins"]),
            (
                gettext("coupons issued today"),
                sum(t["issued_today"] for t in types[campaign.pk]),
            ),
        ]
        for campaign, _day in campaign_days
    }


def draw_dashboard(
    campaign: Campaign, *, now: dt.datetime, day: dt.date, types: list[dict]
) -> dict:
    """Draws and wins today and in all; per coupon type its configured odds and
    the win rate observed over every draw so far (wins of the type / draws)."""
    today = draws_on([(campaign, day)])[campaign.pk]
    by_type = {
        row["coupon_type_id"]: row
        for row in Draw.objects.filter(campaign=campaign)
        .values("coupon_type_id")
        .annotate(draws=Count("id"), wins=Count("id", filter=Q(won=True)))
        .order_by()
    }
    draws = sum(row["draws"] for row in by_type.values())
    wins = sum(row["wins"] for row in by_type.values())
    odds = []
    for coupon_type in types:
        type_wins = by_type.get(coupon_type["id"], {}).get("wins", 0)
        odds.append(
            {
                "name": coupon_type["name"],
                "probability": coupon_type["probability"],
                "wins": type_wins,
                "observed": type_wins / draws if draws else None,
            }
        )
    return {
        "draws_today": today["draws"],
        "wins_today": today["wins"],
        "draws": draws,
        "wins": wins,
        "win_rate": wins / draws if draws else None,
        "configured_odds": sum(coupon_type["probability"] for coupon_type in types),
        "odds": odds,
        # The latest days' seeds (issue 15): the hash, the seed once revealed.
        "seeds": [
            seed_shown(campaign, seed, now)
            for seed in DrawSeed.objects.filter(campaign=campaign).order_by("-day")[:7]
        ],
    }
