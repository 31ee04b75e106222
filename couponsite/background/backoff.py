"""How long a failed delivery waits before its next attempt."""

import datetime as dt
import random


def backoff_delay(
    attempt: int, *, base_seconds: float, cap_seconds: float, jitter: float = 0.1
) -> dt.timedelta:
    """The wait after the ``attempt``-th failure (1-based): ``base * 2**(attempt - 1)``,
    at most ``cap_seconds``, stretched by up to ``jitter`` so a provider that
    failed many messages at once is not hit by all of them in the same second."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    seconds = min(cap_seconds, base_seconds * 2 ** (attempt - 1))
    seconds *= 1 + random.random() * jitter
    return dt.timedelta(seconds=seconds)
