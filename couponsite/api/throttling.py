"""Atomic rate limits in fixed windows, per customer (or phone) and per client address.

Each hit is ``INCR`` + ``EXPIRE`` in one ``MULTI`` on Redis, so parallel requests
can never both see "under the limit" (DRF's cache throttle reads then writes,
DRF issue #8127). Without Redis the same counters live in the local cache,
whose ``add``/``incr`` are atomic within the process. Limits are settings
(``RATE_LIMITS``), read from the environment.

If Redis is configured but down, limits fail open (and say so in the log):
rate limits protect the service, they are not a business rule.
"""

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from couponsite.api.client_ip import client_ip
from couponsite.api.exceptions import RateLimited
from couponsite.redis_client import REDIS_ERRORS, get_redis, redis_key

logger = logging.getLogger(__name__)

# Like DRF: the unit's first letter decides ("10/min", "5/hour", "100/d").
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    period: int

    @classmethod
    def parse(cls, text: str) -> "Rate | None":
        text = text.strip().lower()
        if text in ("", "off", "none"):
            return None
        try:
            count, unit = text.split("/")
            period = _PERIODS[unit.strip()[0]]
            return cls(int(count), period)
        except (ValueError, KeyError, IndexError) as exc:
            raise ImproperlyConfigured(f"Bad rate limit {text!r}") from exc


def rate_for(name: str) -> Rate | None:
    try:
        return Rate.parse(settings.RATE_LIMITS[name])
    except KeyError as exc:
        raise ImproperlyConfigured(f"No rate limit named {name!r}") from exc


def _count_hits(keys: list[tuple[str, int]]) -> list[int] | None:
    """Add one hit to each (key, ttl) counter; the counts after the hit."""
    redis = get_redis()
    if redis is None:
        counts = []
        for key, ttl in keys:
            cache.add(key, 0, timeout=ttl)
            try:
                counts.append(cache.incr(key))
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=ttl)
                counts.append(1)
        return counts
    try:
        pipe = redis.pipeline(transaction=True)
        for key, ttl in keys:
            pipe.incr(key)
            pipe.expire(key, ttl)
        replies = pipe.execute()
    except REDIS_ERRORS:
        logger.warning("rate limit skipped: Redis unavailable", exc_info=True)
        return None
    return replies[0::2]


def _windows(
    limits: list[tuple[str, str]], now: float
) -> list[tuple[str, Rate, float]]:
    """(counter key, rate, seconds until the window turns) for each active limit."""
    active = []
    for name, identity in limits:
        rate = rate_for(name)
        if rate is not None:
            window = int(now // rate.period)
            key = redis_key("rl", name, identity, window)
            active.append((key, rate, (window + 1) * rate.period - now))
    return active


def _refuse_if_over(active, counts, *, limit_reached: bool) -> None:
    waits = [
        wait
        for (_, rate, wait), count in zip(active, counts, strict=True)
        if count is not None
        and (count >= rate.count if limit_reached else count > rate.count)
    ]
    if waits:
        raise RateLimited(retry_after=math.ceil(max(waits)))


def check_rate_limits(limits: list[tuple[str, str]]) -> None:
    """Count one hit against each (rate name, identity); raise ``RateLimited`` if any is over.

    A hit counts even when refused, so hammering does not shorten the wait.
    """
    active = _windows(limits, time.time())
    if not active:
        return
    counts = _count_hits([(key, rate.period + 1) for key, rate, _ in active])
    if counts is not None:
        _refuse_if_over(active, counts, limit_reached=False)


def count_hits(limits: list[tuple[str, str]]) -> None:
    """Count one hit against each limit without refusing (e.g. a failed attempt)."""
    active = _windows(limits, time.time())
    if active:
        _count_hits([(key, rate.period + 1) for key, rate, _ in active])


def refuse_if_spent(limits: list[tuple[str, str]]) -> None:
    """Raise ``RateLimited`` if any limit is already used up; counts nothing."""
    active = _windows(limits, time.time())
    if not active:
        return
    keys = [key for key, _, _ in active]
    redis = get_redis()
    if redis is None:
        found = cache.get_many(keys)
        counts = [found.get(key) for key in keys]
    else:
        try:
            counts = [int(count) if count else None for count in redis.mget(keys)]
        except REDIS_ERRORS:
            logger.warning("rate limit skipped: Redis unavailable", exc_info=True)
            return
    _refuse_if_over(active, counts, limit_reached=True)


def principal_ref(user) -> str:
    """A stable identity string for the signed-in customer or staff user."""
    if user is None:
        return "anonymous"
    return f"{user._meta.model_name}:{user.pk}"


class CustomerAndAddressThrottle(BaseThrottle):
    """Limits a view by ``<scope>_customer`` per principal and ``<scope>_ip`` per address.

    The view names its scope in ``throttle_scope``.
    """

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if not scope:
            raise ImproperlyConfigured(f"{type(view).__name__} has no throttle_scope")
        limits = [(f"{scope}_ip", client_ip(request))]
        if request.user is not None:
            limits.append((f"{scope}_customer", principal_ref(request.user)))
        check_rate_limits(limits)
        return True
