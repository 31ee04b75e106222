"""The cache keys of campaign reads, and forgetting them when a campaign changes.

``selectors`` reads through these keys; ``signals`` drops them after an edit.
"""

from django.core.cache import cache

from couponsite.localcache import local_forget

CAMPAIGN_CACHE_SECONDS = 300
ODDS_CACHE_SECONDS = 600


def campaign_cache_key(slug: str) -> str:
    return f"campaign:slug:{slug}"


def odds_cache_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:odds"


def odds_invalidate(campaign_id: int) -> None:
    """Forget the cached distribution (employees edited a coupon type)."""
    cache.delete(odds_cache_key(campaign_id))
    local_forget(odds_cache_key(campaign_id))


def campaign_forget(slug: str) -> None:
    """Drop the cached campaign (it was edited)."""
    cache.delete(campaign_cache_key(slug))
    local_forget(campaign_cache_key(slug))
