"""Reads about campaigns that a use case needs together."""

import datetime as dt

from django.core.cache import cache
from django.db.models import Q

from campaigns.caching import (
    CAMPAIGN_CACHE_SECONDS,
    ODDS_CACHE_SECONDS,
    campaign_cache_key,
    odds_cache_key,
)
from campaigns.models import Campaign, CouponType
from couponsite.localcache import local_cached


def campaign_by_slug(slug: str, *, reload: bool = False) -> Campaign | None:
    """The campaign with this slug, cached: every participation request starts here.

    An edit of the campaign drops the entry (``campaigns.signals``). ``reload``:
    read it again now (the thin path's refresh, before the entry times out).
    """
    key = campaign_cache_key(slug)

    def load():
        campaign = cache.get(key)
        if campaign is None:
            campaign = Campaign.objects.filter(slug=slug).first()
            cache.set(key, campaign or False, CAMPAIGN_CACHE_SECONDS)
        return campaign

    return local_cached(key, load, reload=reload) or None


def campaign_odds(
    campaign: Campaign, *, reload: bool = False
) -> list[tuple[int, float]]:
    """The draw distribution ``[(coupon type id, probability), …]``, cached.

    Cached in Redis (or the local cache) so a draw reads no coupon type rows;
    an edit of a type invalidates it (``campaigns.signals``). ``reload``: this
    process reads it again now (the thin path's refresh thread).
    """
    key = odds_cache_key(campaign.pk)

    def load():
        odds = cache.get(key)
        if odds is None:
            odds = [
                (pk, float(probability))
                for pk, probability in CouponType.objects.filter(
                    campaign=campaign, probability__gt=0
                )
                .order_by("id")
                .values_list("id", "probability")
            ]
            cache.set(key, odds, ODDS_CACHE_SECONDS)
        return [tuple(pair) for pair in odds]

    return local_cached(key, load, reload=reload)


def on_campaign_days(campaign_days: list[tuple[Campaign, dt.date]]) -> Q:
    """Rows of each campaign on its own local day (each campaign's "today" is a
    date of its time zone), for figures of several campaigns in one query."""
    matching = Q(pk__in=[])
    for campaign, day in campaign_days:
        matching |= Q(campaign=campaign, day=day)
    return matching
