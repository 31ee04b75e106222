"""The back office's start page and dashboards: the running campaigns, percentages."""

from django import template
from django.utils import timezone

from campaigns.figures import campaigns_headlines
from campaigns.models import Campaign

register = template.Library()

# The start page shows at most this many running campaigns (soonest to end first).
START_PAGE_CAMPAIGNS = 20


@register.simple_tag
def running_campaigns() -> list[dict]:
    """The campaigns running now, each with today's key figures (``headline``),
    in a few queries for all of them."""
    now = timezone.now()
    campaigns = list(
        Campaign.objects.active(now).order_by("ends_at", "id")[:START_PAGE_CAMPAIGNS]
    )
    lines = campaigns_headlines(campaigns, now)
    return [
        {"campaign": campaign, "figures": lines[campaign.pk]} for campaign in campaigns
    ]


@register.filter
def percent(share: float | None, digits: int = 1) -> str:
    """0.2345 → "23.5 %"; None (nothing to divide by) → "—"."""
    if share is None:
        return "—"
    return f"{100 * share:.{digits}f} %"
