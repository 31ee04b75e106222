"""The opening checks every way of taking part starts with: the right kind, running.

Draws and claims then key their once-a-day rule on the campaign's local day
and tell a repeat to come back at its local midnight; a rush keys on its
cycle's day instead (``draws.rush.services.common.rush_cycle_at``).

The thin path (``couponsite.server.thin``) starts from ``held_campaign``: the
campaign as this process already holds it, read without a query.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from campaigns.caching import campaign_cache_key
from campaigns.models import Campaign
from campaigns.selectors import campaign_by_slug
from couponsite.errors import DomainError
from couponsite.localcache import MISSING, local_peek_stale
from couponsite.server import thin


class NotInActiveTime(DomainError):
    code = "NOT_IN_ACTIVE_TIME"
    detail = "This campaign is not open right now."


class WrongCampaignKind(DomainError):
    code = "WRONG_CAMPAIGN_KIND"
    detail = "This campaign does not work that way."


_NOT_THIS_KIND = {
    Campaign.Kind.DRAW: "This campaign is not a lucky draw.",
    Campaign.Kind.CLAIM: "This campaign is not a claim campaign.",
    Campaign.Kind.RUSH: "This campaign is not a flash-sale rush.",
}


@dataclass(frozen=True)
class Today:
    """The campaign's local day at the moment of asking, and how long it lasts."""

    day: dt.date
    seconds_left: float  # until the campaign's local midnight: a repeat's Retry-After


def require_kind(
    campaign: Campaign, kind: Campaign.Kind, detail: str | None = None
) -> None:
    """``WRONG_CAMPAIGN_KIND`` unless ``campaign`` is of ``kind`` (``detail``: what
    to say instead of "This campaign is not a …")."""
    if campaign.kind != kind:
        raise WrongCampaignKind(detail or _NOT_THIS_KIND[kind])


def open_today(campaign: Campaign, kind: Campaign.Kind, now: dt.datetime) -> Today:
    """The checks a draw and a claim open with, in their order: kind, then running."""
    require_kind(campaign, kind)
    if not campaign.is_running(now):
        raise NotInActiveTime()
    return Today(
        day=campaign.local_day(now),
        seconds_left=campaign.seconds_to_local_midnight(now),
    )


def held_campaign(slug: str, kind: Campaign.Kind) -> Campaign | None:
    """The campaign of ``kind`` this process already holds (no query), or None.

    For the thin path, on the event loop: what ``campaigns.selectors.
    campaign_by_slug`` last read, within ``LOCAL_CACHE_SECONDS`` as for Django.
    Once the entry is past half its life, the thin path's refresh thread reads
    it again (``couponsite.server.thin.refresh_soon``), so under steady traffic
    it never times out and a stampede does not fall through to Django each time
    it would have; a timed-out entry is never used (Django answers, and reads
    it). None also for a draft (customers are told 404) and another kind
    (``WRONG_CAMPAIGN_KIND``): Django gives those answers.
    """
    key = campaign_cache_key(slug)
    campaign, stale_for = local_peek_stale(key)
    if campaign is MISSING:
        return None
    if stale_for > -settings.LOCAL_CACHE_SECONDS / 2:
        thin.refresh_soon(key, lambda: campaign_by_slug(slug, reload=True))
    if stale_for > 0:
        return None
    if (
        not campaign
        or campaign.kind != kind
        or campaign.status == (Campaign.Status.DRAFT)
    ):
        return None
    return campaign
