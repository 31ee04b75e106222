"""A draw campaign's draws and wins over time (the back office's "Over time")."""

from django.db.models import Count, Q
from django.utils.translation import gettext

from campaigns.models import Campaign
from couponsite.charts import Chart, Series
from couponsite.timeseries import Span, counted
from draws.draw.models import Draw


def draw_timeline(campaign: Campaign, span: Span) -> Chart:
    """Draws and wins per bucket of ``span``, by when they were drawn (one query)."""
    counts = counted(
        Draw.objects.filter(campaign=campaign),
        "created_at",
        span,
        day_field="day",  # the draw's local day, as it was drawn
        draws=Count("pk"),
        wins=Count("pk", filter=Q(won=True)),
    )
    return Chart(
        title=gettext("Draws and wins"),
        series=[
            Series(gettext("Draws"), counts["draws"]),
            Series(gettext("Wins"), counts["wins"]),
        ],
    )
