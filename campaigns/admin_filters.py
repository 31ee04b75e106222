"""List filters and columns on a campaign's own local day, for the lists of rows a
campaign keeps per day (draws, claims, reservations, grabs).

A row's ``day`` is its campaign's local date (``Campaign.local_day``). Django's
date filter compares it with the server's date (UTC): far from UTC, "Today"
then shows yesterday's or tomorrow's rows. Here "today" is each campaign's own.
"""

import datetime as dt
import zoneinfo

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign

_SPANS = {
    "today": (_("Today"), 0, 0),
    "yesterday": (_("Yesterday"), 1, 1),
    "past_7_days": (_("Past 7 days"), 6, 0),
}


class CampaignLocalDayFilter(admin.SimpleListFilter):
    """Today, yesterday, the past 7 days or this month, each row by its
    campaign's local day. ``day_field`` and ``campaign_field`` name the row's
    local date and its campaign."""

    title = _("day (the campaign's local day)")
    parameter_name = "local_day"
    day_field = "day"
    campaign_field = "campaign"

    def lookups(self, request, model_admin):
        return [
            *((value, label) for value, (label, _, _) in _SPANS.items()),
            ("this_month", _("This month")),
        ]

    def queryset(self, request, queryset):
        if self.value() not in {*_SPANS, "this_month"}:
            return None
        now = timezone.now()
        zones = Campaign.objects.order_by().values_list("timezone", flat=True)
        matching = Q(pk__in=[])
        for zone in set(zones):
            first, last = self.days(now.astimezone(zoneinfo.ZoneInfo(zone)).date())
            matching |= Q(
                **{
                    f"{self.campaign_field}__timezone": zone,
                    f"{self.day_field}__range": (first, last),
                }
            )
        return queryset.filter(matching)

    def days(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last local day of the span chosen, ``today`` being local."""
        if self.value() == "this_month":
            return today.replace(day=1), today
        _, back, to = _SPANS[self.value()]
        return today - dt.timedelta(days=back), today - dt.timedelta(days=to)


@admin.display(description=_("day (campaign's)"), ordering="day")
def campaign_day(row) -> dt.date:
    """A row's ``day``, said to be its campaign's local day."""
    return row.day
