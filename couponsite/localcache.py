"""A per-process cache in front of the shared one, for hot reads that rarely change.

Every participation request reads its campaign (and a draw its odds); even one
Redis round trip each adds up in a flash sale. Entries live ``LOCAL_CACHE_SECONDS``
in this process, so an edit reaches the other processes within that time (the
process that saved it forgets at once).
"""

import math
import time
from collections.abc import Callable

from django.conf import settings

_entries: dict[str, tuple[float, object]] = {}


def local_cached[T](key: str, load: Callable[[], T], *, reload: bool = False) -> T:
    """``load()``'s value, kept ``LOCAL_CACHE_SECONDS``; ``reload``: load it anew now."""
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now and not reload:
        return entry[1]
    value = load()
    if len(_entries) > 10_000:  # a bound, not an LRU: campaigns are few
        _entries.clear()
    _entries[key] = (now + settings.LOCAL_CACHE_SECONDS, value)
    return value


MISSING = object()


def local_peek(key: str) -> object:
    """The entry under ``key`` if this process holds a fresh one, else ``MISSING``
    (nothing is loaded: for the event loop, where no query may run)."""
    entry = _entries.get(key)
    if entry is not None and entry[0] > time.monotonic():
        return entry[1]
    return MISSING


def local_peek_stale(key: str) -> tuple[object, float]:
    """The entry under ``key`` even if it has timed out, and how many seconds ago
    it did (<= 0: still fresh); ``(MISSING, inf)`` without one. Nothing is loaded."""
    entry = _entries.get(key)
    if entry is None:
        return MISSING, math.inf
    return entry[1], time.monotonic() - entry[0]


def local_forget(key: str) -> None:
    _entries.pop(key, None)


def local_clear() -> None:
    _entries.clear()
