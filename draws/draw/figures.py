"""A lucky draw's figures: draws and wins, the odds set beside the odds seen.

``draws_on`` feeds the API's ``draws_today``/``wins_today`` and the dashboard
alike; ``draw_dashboard`` adds the all-time counts and each type's observed win
rate, in one more query (``GROUP BY coupon_type`` over the campaign's draws, on
the ``draw_campaign_day`` index).
"""

import datetime as dt

from django.db.models import Count, Q

from campaigns.models import Campaign
from draws.draw.models import Draw


def draws_on(campaign: Campaign, day: dt.date) -> dict:
    """How many customers drew on local ``day``, and how many of them won."""
    return Draw.objects.filter(campaign=campaign, day=day).aggregate(
        draws=Count("id"), wins=Count("id", filter=Q(won=True))
    )


def draw_dashboard(
    campaign: Campaign, *, now: dt.datetime, day: dt.date, types: list[dict]
) -> dict:
    """Draws and wins today and in all; per coupon type its configured odds and
    the win rate observed over every draw so far (wins of the type / draws)."""
    today = draws_on(campaign, day)
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
    configured = sum(coupon_type["probability"] for coupon_type in types)
    return {
        "draws_today": today["draws"],
        "wins_today": today["wins"],
        "draws": draws,
        "wins": wins,
        "win_rate": wins / draws if draws else None,
        "configured_odds": configured,
        "odds": odds,
        "headline": [
            ("draws today", today["draws"]),
            ("wins today", today["wins"]),
            ("coupons issued today", sum(t["issued_today"] for t in types)),
        ],
    }
