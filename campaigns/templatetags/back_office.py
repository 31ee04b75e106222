"""The back office's start page and dashboards: the running campaigns, percentages."""

from django import template
from django.utils import timezone

from campaigns.figures import campaign_dashboard
from campaigns.models import Campaign

register = template.Library()

# The start page shows at most this many running campaigns (soonest to end first).
START_PAGE_CAMPAIGNS = 20


@register.simple_tag
def running_campaigns() -> list[dict]:
    """The campaigns running now, each with its dashboard's headline figures."""
    now = timezone.now()
    campaigns = Campaign.objects.active(now).order_by("ends_at", "id")
    return [
        {"campaign": campaign, "dashboard": campaign_dashboard(campaign, now)}
        for campaign in campaigns[:START_PAGE_CAMPAIGNS]
    ]


@register.filter
def percent(share: float | None, digits: int = 1) -> str:
    """0.2345 → "23.5 %"; None (nothing to divide by) → "—"."""
    if share is None:
        return "—"
    return f"{100 * share:.{digits}f} %"
