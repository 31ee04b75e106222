"""Atomic sliding-window rate limits, per customer (or phone) and per client address.

A limit of N per period lets at most N hits through in *any* span of that length,
so nothing bursts past it where a fixed window would turn over (N at its end
and N more at the next one's start). Each limit keeps the times of the hits it
counted (at most N); a hit is refused while N of them are younger than the
period, and ``Retry-After`` says when the oldest of those leaves it.

With Redis, one Lua script (``rate_limit.lua``) checks and counts all of a
request's limits at once, on the Redis server's clock, so parallel requests on
any number of web nodes, whatever their clocks say, cannot both see "room
left". A refused request counts against none of them (all or nothing), so
hammering does not push the wait further. Without Redis the same windows live
in this process, under a lock. Limits are settings (``RATE_LIMITS``), read
from the environment.

On a Redis Cluster (``REDIS_CLUSTER``) a request's limits lie in different
slots (one per customer, one per address), and a script may only touch one: the
script runs once per slot, and a hit one slot refuses is taken back from the
slots that counted it (mode "undo"), so a refused hit still counts against none.
Between the count and the undo another request may see that hit (one too many,
for a moment, never one too few).

If Redis is configured but down, limits fail open (with a warning in the log):
rate limits protect the service, they are not a business rule.
"""

import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis.commands.core import Script
from rest_framework.throttling import BaseThrottle

from couponsite import metrics
from couponsite.api.client_ip import client_ip
from couponsite.api.exceptions import RateLimited
from couponsite.redis_client import REDIS_ERRORS, get_redis, redis_key
from couponsite.redis_cluster import key_slot
from couponsite.server.router import RATE_COUNTED

logger = logging.getLogger(__name__)

# Like DRF: the unit's first letter decides ("10/min", "5/hour", "100/d").
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The clock the limits run on, in seconds. None: the Redis server's (one clock for
# every web node), or this process's without Redis. Tests set it to move time.
clock: Callable[[], float] | None = None

# The windows' arithmetic, shared with the thin path's gate (couponsite.server.thin).
WINDOWS_LUA = Path(__file__).with_name("rate_limit_windows.lua").read_text()
# rate_limit.lua whole (the thin path's gate runs it too on a Redis Cluster).
SCRIPT_SOURCE = (
    WINDOWS_LUA + Path(__file__).with_name("rate_limit.lua").read_text()
).encode()
_SCRIPT = Script(None, SCRIPT_SOURCE)

_HIT, _COUNT, _PEEK, _UNDO = "hit", "count", "peek", "undo"


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
            rate = cls(int(count), _PERIODS[unit.strip()[0]])
        except (ValueError, KeyError, IndexError) as exc:
            raise ImproperlyConfigured(f"Bad rate limit {text!r}") from exc
        if rate.count < 1:
            raise ImproperlyConfigured(f"Bad rate limit {text!r}: use 'off'")
        return rate


def rate_for(name: str) -> Rate | None:
    try:
        return Rate.parse(settings.RATE_LIMITS[name])
    except KeyError as exc:
        raise ImproperlyConfigured(f"No rate limit named {name!r}") from exc


class _LocalWindows:
    """The windows of this process, for the embedded mode without Redis."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._hits: dict[str, tuple[int, deque[int]]] = {}

    def apply(self, mode: str, active: list[tuple[str, Rate]], now: int) -> int:
        """What the Lua script does, on this process's clock (ms)."""
        with self._lock:
            wait = 0
            for key, rate in active:
                period = rate.period * 1000
                _, hits = self._hits.get(key, (0, deque()))
                while hits and hits[0] <= now - period:
                    hits.popleft()
                if len(hits) >= rate.count:
                    wait = max(wait, hits[-rate.count] + period - now)
            if mode == _COUNT or (mode == _HIT and wait == 0):
                if len(self._hits) >= self.MAX_KEYS:
                    self._sweep(now)
                for key, rate in active:
                    _, hits = self._hits.get(key, (0, deque()))
                    if hits.maxlen != rate.count:  # new, or its rate was changed
                        hits = deque(hits, maxlen=rate.count)
                    hits.append(now)
                    self._hits[key] = (now + rate.period * 1000, hits)
            return wait

    def _sweep(self, now: int) -> None:
        self._hits = {key: entry for key, entry in self._hits.items() if entry[0] > now}


local_windows = _LocalWindows()


def _apply(mode: str, limits: list[tuple[str, str]]) -> int:
    """Run the limits named by (rate name, identity); ms until all have room again."""
    active = []
    for name, identity in limits:
        rate = rate_for(name)
        if rate is not None:
            active.append((redis_key("rl", name, identity), rate))
    if not active:
        return 0
    redis = get_redis()
    if redis is None:
        now = clock() if clock is not None else time.time()
        return local_windows.apply(mode, active, int(now * 1000))
    groups = by_slot(active) if settings.REDIS_CLUSTER else [active]
    now_arg = "" if clock is None else int(clock() * 1000)
    member = secrets.token_hex(6)

    def run(group: list[tuple[str, Rate]], mode: str) -> int:
        args = [mode, now_arg, member]
        for _, rate in group:
            args += [rate.count, rate.period * 1000]
        return int(_SCRIPT(keys=[key for key, _ in group], args=args, client=redis))

    try:
        if len(groups) == 1:
            return run(groups[0], mode)
        if mode != _HIT:
            return max([run(group, mode) for group in groups])
        for done, group in enumerate(groups):
            wait = run(group, _HIT)
            if wait:
                for counted in groups[:done]:
                    run(counted, _UNDO)
                return max([wait, *(run(rest, _PEEK) for rest in groups[done + 1 :])])
        return 0
    except REDIS_ERRORS as exc:
        metrics.redis_fallback("rate_limit")
        logger.warning("rate limit skipped: Redis unavailable (%s)", type(exc).__name__)
        return 0


def by_slot(active: list[tuple[str, Rate]]) -> list[list[tuple[str, Rate]]]:
    """The limits grouped by Redis Cluster slot, in their order (one script each)."""
    groups: dict[int, list[tuple[str, Rate]]] = {}
    for key, rate in active:
        groups.setdefault(key_slot(key), []).append((key, rate))
    return list(groups.values())


def _refuse_if_waiting(wait_ms: int, limits: list[tuple[str, str]]) -> None:
    if wait_ms > 0:
        # The scope: the rate's name without its "_ip" / "_customer" ending.
        metrics.rate_limited(limits[0][0].rpartition("_")[0] or limits[0][0])
        raise RateLimited(retry_after=max(1, math.ceil(wait_ms / 1000)))


def check_rate_limits(limits: list[tuple[str, str]]) -> None:
    """Count one hit against each (rate name, identity); raise ``RateLimited`` if any is spent.

    All or nothing: a refused hit counts against none of the limits.
    """
    _refuse_if_waiting(_apply(_HIT, limits), limits)


def count_hits(limits: list[tuple[str, str]]) -> None:
    """Count one hit against each limit without refusing (e.g. a failed attempt)."""
    _apply(_COUNT, limits)


def refuse_if_spent(limits: list[tuple[str, str]]) -> None:
    """Raise ``RateLimited`` if any limit is already used up; counts nothing."""
    _refuse_if_waiting(_apply(_PEEK, limits), limits)


def principal_ref(user) -> str:
    """A stable identity string for the signed-in customer or staff user."""
    if user is None:
        return "anonymous"
    return f"{user._meta.model_name}:{user.pk}"


class CustomerAndAddressThrottle(BaseThrottle):
    """Limits a view by ``<scope>_customer`` per principal and ``<scope>_ip`` per address.

    The view names its scope in ``throttle_scope``. A request a thin route
    passed on after its gate checked and counted this scope's limits
    (``couponsite.server.router.RATE_COUNTED``) is not counted again.
    """

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if not scope:
            raise ImproperlyConfigured(f"{type(view).__name__} has no throttle_scope")
        if request.META.get(RATE_COUNTED) == scope:
            return True
        limits = [(f"{scope}_ip", client_ip(request))]
        if request.user is not None:
            limits.append((f"{scope}_customer", principal_ref(request.user)))
        check_rate_limits(limits)
        return True
