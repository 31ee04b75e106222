"""Cached "already did it today" marks, for the once-a-day rules of draws and claims.

The database's unique constraint is the rule; the mark only lets a repeat be
answered without a query. It lives in the cache (Redis, or the local cache)
until the campaign's local midnight, a minute over.
"""

import datetime as dt

from django.core.cache import cache

from campaigns.models import Campaign


def _key(action: str, campaign: Campaign, customer_id: int, day: dt.date) -> str:
    return f"{action}:{campaign.pk}:{day.isoformat()}:{customer_id}"


def done_today(
    *, action: str, campaign: Campaign, customer_id: int, day: dt.date
) -> bool:
    return bool(cache.get(_key(action, campaign, customer_id, day)))


def remember_done_today(
    *, action: str, campaign: Campaign, customer_id: int, day: dt.date, now: dt.datetime
) -> None:
    ttl = int(campaign.seconds_to_local_midnight(now)) + 60
    cache.set(_key(action, campaign, customer_id, day), 1, ttl)
