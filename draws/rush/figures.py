"""A rush's figures, per rush day: reservations, coupons made, grabs, left, sold out.

A rush day's row holds its reservations and coupons; its grabs are counted from
the grabs (``grab_campaign_day`` index) by ``with_grab_figures``, which the
rush-day admin pages, the API's latest-cycle figures and the dashboard's table
all use.
"""

import datetime as dt

from django.db.models import (
    Count,
    IntegerField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from campaigns.models import Campaign
from campaigns.schedule import RushWindows
from campaigns.selectors import on_campaign_days
from draws.rush.models import Grab, RushDay

RECENT_DAYS = 7


def with_grab_figures(rush_days: QuerySet) -> QuerySet:
    """``rush_days`` annotated with ``grab_count`` and ``last_grab_at`` (one
    subquery each on the day's grabs, in the same query)."""
    grabs = Grab.objects.filter(
        campaign=OuterRef("campaign_id"), day=OuterRef("day")
    ).order_by()
    return rush_days.annotate(
        grab_count=Coalesce(
            Subquery(
                grabs.values("day").annotate(n=Count("id")).values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        last_grab_at=Subquery(
            grabs.values("day").annotate(at=Max("created_at")).values("at")
        ),
    )


def coupons_left(rush_day: RushDay) -> int:
    return rush_day.coupons - rush_day.grab_count


def sold_out_at(rush_day: RushDay) -> dt.datetime | None:
    """When the day's last coupon went; None while any is left."""
    if rush_day.coupons and rush_day.grab_count >= rush_day.coupons:
        return rush_day.last_grab_at
    return None


_NO_RUSH_DAY = {"reservations": 0, "coupons": 0, "grabs": 0, "sold_out_at": None}


def _row(rush_day: RushDay) -> dict:
    return {
        "day": rush_day.day,
        "reservations": rush_day.reservations,
        "coupons": rush_day.coupons,
        "grabs": rush_day.grab_count,
        "left": coupons_left(rush_day),
        "sold_out_at": sold_out_at(rush_day),
        "ratio": rush_day.ratio,
    }


def rush_cycles(campaigns: list[Campaign], now: dt.datetime) -> dict[int, dict]:
    """Per campaign id: its latest rush cycle that opened, with its windows,
    reservations, coupons and grabs (the API's ``rush``), in one query for all."""
    cycles = {
        campaign.pk: RushWindows.of(campaign).latest_cycle(campaign.tz, now)
        for campaign in campaigns
    }
    days = {
        (rush_day.campaign_id, rush_day.day): _row(rush_day)
        for rush_day in with_grab_figures(
            RushDay.objects.filter(
                on_campaign_days([(c, cycles[c.pk].day) for c in campaigns])
            )
        )
    }
    figures = {}
    for campaign in campaigns:
        cycle = cycles[campaign.pk]
        row = days.get((campaign.pk, cycle.day), _NO_RUSH_DAY)
        figures[campaign.pk] = {
            "day": cycle.day,
            "reservation_opens": cycle.reservation_opens,
            "rush_opens": cycle.rush_opens,
            "rush_closes": cycle.rush_ends,
            "reservations": row["reservations"],
            "coupons": row["coupons"],
            "grabs": row["grabs"],
            "sold_out_at": row["sold_out_at"],
        }
    return figures


def rush_headlines(
    campaign_days: list[tuple[Campaign, dt.date]], *, now: dt.datetime, types: dict
) -> dict[int, list[tuple[str, int]]]:
    """The start page's figures of each rush: its latest night's reservations,
    grabs and coupons left."""
    cycles = rush_cycles([campaign for campaign, _ in campaign_days], now)
    return {
        pk: [
            (
                gettext("reservations (%(day)s)") % {"day": cycle["day"]},
                cycle["reservations"],
            ),
            (gettext("grabs"), cycle["grabs"]),
            (gettext("coupons left"), cycle["coupons"] - cycle["grabs"]),
        ]
        for pk, cycle in cycles.items()
    }


def rush_dashboard(
    campaign: Campaign, *, now: dt.datetime, day: dt.date, types: list[dict]
) -> dict:
    """The latest cycle and a table of the ``RECENT_DAYS`` latest rush days."""
    cycle = rush_cycles([campaign], now)[campaign.pk]
    days = [
        _row(rush_day)
        for rush_day in with_grab_figures(
            RushDay.objects.filter(campaign=campaign).order_by("-day")
        )[:RECENT_DAYS]
    ]
    return {
        "cycle": cycle,
        "left": cycle["coupons"] - cycle["grabs"],
        "days": days,
    }
