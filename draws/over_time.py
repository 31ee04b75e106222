"""The back office's "Over time" page of a campaign: its events charted per
minute, hour, day or second of the rush, in the campaign's time zone.

Each mode's room counts its own events (``draws/<mode>/timeline.py``), the
coupons count redemptions (``vouchers/timeline.py``); this page, which gathers
the modes, picks the span and draws the charts (``couponsite/charts.py``).
The root URLconf includes this module by name under the campaign's admin page
(``/admin/campaigns/campaign/<id>/over-time/``); the change form links to it.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.functional import Promise
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from couponsite.charts import Chart, chart_svg, label_every
from couponsite.timeseries import (
    Span,
    day_of,
    days_between,
    hour_until,
    labels,
    round_ticks,
)
from draws.claim.timeline import claim_timeline
from draws.draw.timeline import draw_timeline
from draws.rush.timeline import rush_span, rush_timeline
from vouchers.timeline import redemption_timeline

# More buckets than this are drawn as lines; bars would be slivers.
MOST_BARS = 60
# Django's date format, itself translated (as Django's DATE_FORMAT is): a day
# reads "Mon 30 Nov 2026 00:00:00" in English, "2026年11月30日 00:00:00" in Chinese.
SHOWN = _("D d M Y H:i:s")


@dataclass(frozen=True)
class Range:
    name: str
    title: Promise
    span: Callable[[Campaign, dt.datetime], Span]
    kinds: tuple[str, ...] = tuple(Campaign.Kind.values)


RANGES = [
    Range("hour", _("Last hour, per minute"), lambda c, now: hour_until(now, c.tz)),
    Range("today", _("Today, per hour"), lambda c, now: day_of(now, c.tz)),
    Range(
        "life",
        _("The campaign's life, per day"),
        lambda c, now: days_between(c.starts_at, min(c.ends_at, now), c.tz),
    ),
    Range("rush", _("The rush, per second"), rush_span, kinds=(Campaign.Kind.RUSH,)),
]
DEFAULT_RANGE = "today"


def campaign_ranges(campaign: Campaign) -> dict[str, Range]:
    return {r.name: r for r in RANGES if campaign.kind in r.kinds}


def over_time_charts(
    campaign: Campaign, span: Span, now: dt.datetime | None = None
) -> list[Chart]:
    """The campaign's charts over ``span``: its mode's events, then redemptions.

    Two to four aggregate queries, whatever the events: a draw's draws and
    wins share one, a rush's series take one each, a claim's lapses two (one
    less per day); redemptions one.
    """
    if campaign.kind == Campaign.Kind.DRAW:
        charts = [draw_timeline(campaign, span)]
    elif campaign.kind == Campaign.Kind.CLAIM:
        charts = [claim_timeline(campaign, span, now)]
    elif campaign.kind == Campaign.Kind.RUSH:
        charts = [rush_timeline(campaign, span)]
    else:
        charts = []
    return [*charts, redemption_timeline(campaign, span)]


def over_time(request: HttpRequest, object_id: int) -> HttpResponse:
    """Staff who may see the campaign choose a range; the charts are SVG in the page."""
    campaign = get_object_or_404(Campaign, pk=object_id)
    model_admin = admin.site.get_model_admin(Campaign)
    if not model_admin.has_view_or_change_permission(request, campaign):
        raise PermissionDenied
    ranges = campaign_ranges(campaign)
    chosen = request.GET.get("range", DEFAULT_RANGE)
    if chosen not in ranges:
        return HttpResponseBadRequest(
            gettext(
                "Unknown range %(range)s for this campaign: choose one of %(ranges)s."
            )
            % {"range": repr(chosen), "ranges": ", ".join(ranges)},
            content_type="text/plain",
        )
    now = timezone.now()
    span = ranges[chosen].span(campaign, now)
    names = labels(span)
    ticks = round_ticks(span, label_every(len(names)))
    kind = "bar" if len(names) <= MOST_BARS else "line"
    charts = [
        mark_safe(  # chart_svg escapes every text it draws
            chart_svg(
                title=f"{chart.title} — {ranges[chosen].title.lower()}",
                labels=names,
                series=chart.series,
                kind=kind,
                ticks=ticks,
            )
        )
        for chart in over_time_charts(campaign, span, now)
    ]
    first, last = span.start.astimezone(campaign.tz), span.end.astimezone(campaign.tz)
    context = {
        **admin.site.each_context(request),
        "opts": Campaign._meta,
        "original": campaign,
        "title": gettext("Over time: %(campaign)s") % {"campaign": campaign},
        "ranges": ranges.values(),
        "chosen": chosen,
        # Formatted here: the template's date filter would show the server's zone.
        "span_from": format_date(first, str(SHOWN)),
        "span_to": format_date(last, str(SHOWN)),
        "charts": charts,
    }
    return TemplateResponse(request, "admin/campaigns/campaign/over_time.html", context)


urlpatterns = [
    path("", admin.site.admin_view(over_time), name="campaign-over-time"),
]
