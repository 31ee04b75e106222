"""Cached "already did it today" marks, for the once-a-day rules of draws and claims.

The database's unique constraint is the rule; the mark only lets a repeat be
answered without a query. It lives in the cache (Redis, or the local cache)
until the campaign's local midnight, a minute over.

The thin path (``draws.draw.thin``, ``draws.claim.thin``) reads the same mark
inside its Redis script: ``done_today_key_prefix`` gives the mark's raw Redis
key less the customer's id, which the script appends (only it knows the
customer), and ``DONE_TODAY_BODY`` (the draw's; the claim's body checks the
mark the same way first) answers when the mark is there.
"""

import datetime as dt

from django.conf import settings
from django.core.cache import cache

from campaigns.models import Campaign

# What the cache stores for a mark: django-redis writes an int as its digits,
# unpickled, so a script can read it.
_MARK = 1
# Appended to a key to check that the cache's key function keeps the key last.
_PROBE = "1234567890"


def _key(action: str, campaign: Campaign, customer_id: int | str, day: dt.date) -> str:
    return f"{action}:{campaign.pk}:{day.isoformat()}:{customer_id}"


def done_today(
    *, action: str, campaign: Campaign, customer_id: int, day: dt.date
) -> bool:
    return bool(cache.get(_key(action, campaign, customer_id, day)))


def mark_ttl(campaign: Campaign, now: dt.datetime) -> int:
    """How long a mark made at ``now`` lives: to the local midnight, a minute over."""
    return int(campaign.seconds_to_local_midnight(now)) + 60


def remember_done_today(
    *, action: str, campaign: Campaign, customer_id: int, day: dt.date, now: dt.datetime
) -> None:
    cache.set(_key(action, campaign, customer_id, day), _MARK, mark_ttl(campaign, now))


def done_today_key_prefix(
    *, action: str, campaign: Campaign, day: dt.date
) -> str | None:
    """The raw Redis key of a customer's mark without the customer's id at its
    end, or None when a script on ``REDIS_URL`` cannot read the marks: the cache
    is not django-redis on that same Redis, or its key function does not end
    with the key as given (the customer's id could not be appended)."""
    cache_settings = settings.CACHES["default"]
    if (
        cache_settings["BACKEND"] != "django_redis.cache.RedisCache"
        or cache_settings["LOCATION"] != settings.REDIS_URL
    ):
        return None
    head = _key(action, campaign, "", day)
    prefix = cache.make_key(head)
    if cache.make_key(head + _PROBE) != prefix + _PROBE:
        return None
    return prefix


# What the thin path writes for a mark (``done_today_key_prefix`` + the
# customer's id): ``_MARK`` as django-redis writes it.
MARK_VALUE = str(_MARK)

# The thin path's gate body (``couponsite.server.thin.Gate``): args[1] is
# ``done_today_key_prefix``. The mark there ('1': ``_MARK`` as django-redis
# writes it) answers the repeat. Without it: ``FIRST`` when args[2] is 'first'
# (the route decides a first time itself, and the answer counts a hit), else
# Django decides.
DONE_TODAY_BODY = """
local function body(customer, keys, args)
  if redis.call('GET', args[1] .. customer) == '1' then
    return {'DONE'}
  end
  if args[2] == 'first' then
    return {'FIRST'}
  end
  return {'PASS', 'not done today'}
end
"""
