"""Log filters: one line per kind of trouble per interval, not one per request.

When Postgres or Redis goes away, every request meets the same failure; logging
each with its traceback buries everything else (1,289 tracebacks a minute were
seen with Redis down). ``RepeatFilter`` lets the first record of a kind through,
drops the repeats for ``seconds`` and counts them, and says how many it dropped
on the next record of that kind it lets through.
"""

import logging
import threading
import time

# Loggers whose records say "this request failed": the response's reason phrase
# (the record's first argument) is part of what makes two records alike.
_REQUEST_LOGGERS = ("django.request", "django.server")


def _kind(record: logging.LogRecord) -> tuple:
    reason = None
    if record.name in _REQUEST_LOGGERS and isinstance(record.args, tuple):
        reason = record.args[0] if record.args else None
    error = type(record.exc_info[1]).__name__ if record.exc_info else None
    return (record.name, record.levelno, str(record.msg), reason, error)


class RepeatFilter(logging.Filter):
    """Passes one warning-or-worse record of each kind per ``seconds``.

    Records below WARNING, and 4xx warnings of ``django.request`` (each is a
    different client's mistake; ``LOG_LEVEL`` silences them), always pass.
    """

    MAX_KINDS = 1000

    def __init__(self, seconds: float = 60):
        super().__init__()
        self.seconds = seconds
        self._lock = threading.Lock()
        self._kinds: dict[tuple, tuple[float, int]] = {}

    def clear(self) -> None:
        with self._lock:
            self._kinds.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self.seconds <= 0:
            return True
        if record.name in _REQUEST_LOGGERS and record.levelno < logging.ERROR:
            return True
        kind = _kind(record)
        now = time.monotonic()
        with self._lock:
            since, dropped = self._kinds.get(kind, (None, 0))
            if since is not None and now - since < self.seconds:
                self._kinds[kind] = (since, dropped + 1)
                return False
            if len(self._kinds) >= self.MAX_KINDS:
                self._kinds.clear()
            self._kinds[kind] = (now, 0)
        if dropped:
            record.repeats_dropped = dropped
            record.msg = (
                f"{record.msg} [{dropped} like it dropped in the last interval]"
            )
        return True
