"""A rush campaign's reservations and grabs over time (the back office's "Over time")."""

import datetime as dt

from django.utils.translation import gettext

from campaigns.models import Campaign
from campaigns.schedule import RushWindows
from couponsite.charts import Chart, Series
from couponsite.timeseries import Span, counted
from draws.rush.models import Grab, Reservation

# A rush is a minute or so; a longer window is shown from its opening, this long.
RUSH_SPAN_MOST = dt.timedelta(minutes=15)


def rush_span(campaign: Campaign, now: dt.datetime) -> Span:
    """The latest rush window that opened (or the one to come today), by the second."""
    cycle = RushWindows.of(campaign).latest_cycle(campaign.tz, now)
    end = min(cycle.rush_ends, cycle.rush_opens + RUSH_SPAN_MOST)
    return Span(start=cycle.rush_opens, end=end, unit="second", tz=campaign.tz)


def rush_timeline(campaign: Campaign, span: Span) -> Chart:
    """Reservations and grabs per bucket, by when they were made (two queries);
    per day, by the day of their rush (a rush past midnight counts on its day)."""
    reservations = counted(
        Reservation.objects.filter(campaign=campaign),
        "created_at",
        span,
        day_field="day",
    )
    grabs = counted(
        Grab.objects.filter(campaign=campaign), "created_at", span, day_field="day"
    )
    return Chart(
        title=gettext("Reservations and grabs"),
        series=[
            Series(gettext("Reservations"), reservations["count"]),
            Series(gettext("Grabs"), grabs["count"]),
        ],
    )
