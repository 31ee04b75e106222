"""What the service counts, for Prometheus (``prometheus-client``).

Every metric is declared here, in the bottom layer, and the apps call the small
functions below where an event is decided: a domain event once its
transaction has committed (``count_on_commit``, or after a group commit's
``COMMIT``), so a rolled back draw is never counted; an answer once it is sent
(``couponsite.server.router.Router``, for the thin path's and Django's alike).

Under gunicorn the workers are processes: each writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (the client library's multiprocess mode;
gunicorn.conf.py makes and empties the directory), and a scrape adds them up
(``couponsite.metrics.exposition``). Without that variable (the test suite,
``runserver``) the values live in this process's registry.

Labels take a few known values only (a route's pattern, a method, a status, a
mode, an outcome), never a campaign, a customer or a raw path: each label value
is a series of its own in Prometheus. docs/operations.md lists the metrics and
the alerts worth setting.
"""

import logging
import os
import socket

from django.db import transaction
from prometheus_client import Counter, Histogram, values

# A process's files are named for it. Processes of several containers share the
# directory under docker-compose (web, worker, scheduler), where pids repeat:
# the host's name (a container's id) goes before the pid.
_HOST = socket.gethostname().replace("_", "-")


def process_name(pid: int) -> str:
    return f"{_HOST}-{pid}"


_names: dict[int, str] = {}


def _this_process() -> str:
    """This process's name, asked at every write (it notices a fork)."""
    pid = os.getpid()
    name = _names.get(pid)
    if name is None:
        name = _names[pid] = process_name(pid)
    return name


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = values.MultiProcessValue(_this_process)

# --- Answers ------------------------------------------------------------------------

# Seconds from the request's arrival at the server layer to its last byte sent.
REQUEST_SECONDS = Histogram(
    "couponsite_http_request_duration_seconds",
    "Answers by route pattern, method and status, with their latency "
    "(thin path and Django alike; _count is the number of answers).",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REFUSALS = Counter(
    "couponsite_refusals",
    "Error answers by their code (SOLD_OUT, RATE_LIMITED, ALREADY_DRAWN_TODAY, ...), "
    "thin path and Django alike.",
    ["code"],
)
RATE_LIMITED = Counter(
    "couponsite_rate_limit_refusals",
    "Requests refused by a rate limit, by the limit's scope.",
    ["scope"],
)

# Where an answer's route pattern travels: Django's (``RouteLabelMiddleware``) in
# the WSGI environ, which the server's bridge copies into the ASGI scope; the
# router reads it there once the answer is sent.
ROUTE_KEY = "couponsite.route"
# A label for answers no route pattern names (a 404, the server's own 413/414).
UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# One histogram child per (route, method, status): ``labels()`` takes a lock and
# builds a key each time, which the hot path need not pay.
_children: dict[tuple[str, str, int], object] = {}


def answer_observe(route: str, method: str, status: int, seconds: float) -> None:
    """One answer sent (``couponsite.server.router``)."""
    key = (route, method, status)
    child = _children.get(key)
    if child is None:
        if method not in _METHODS:
            method = "other"  # a client's invented method is not a new series
        child = _children[key] = REQUEST_SECONDS.labels(route, method, str(status))
    child.observe(seconds)


def _child(metric, value: str):
    """``metric.labels(value)``, kept: the hot path's refusals pay a dict lookup."""
    children = _labelled.setdefault(metric, {})
    child = children.get(value)
    if child is None:
        child = children[value] = metric.labels(value)
    return child


_labelled: dict[object, dict[str, object]] = {}


def refused(code: str) -> None:
    """An error answer with ``code`` (the API's exception handler, the thin path)."""
    _child(REFUSALS, code).inc()


def rate_limited(scope: str) -> None:
    _child(RATE_LIMITED, scope).inc()


def sms_refused(reason: str) -> None:
    """A sign-in text refused by the abuse controls (``customers.services``)."""
    _child(SMS_REFUSALS, reason).inc()


# --- The domain -----------------------------------------------------------------------

DRAWS = Counter(
    "couponsite_draws", "Draws committed, by outcome (won, lost).", ["outcome"]
)
CLAIMS = Counter("couponsite_claims", "Claims committed (a coupon held).")
RESERVATIONS = Counter(
    "couponsite_reservations", "Rush reservations committed (a place in the rush)."
)
GRABS = Counter(
    "couponsite_grabs",
    "Rush grabs: won (a coupon committed to the customer) or sold_out (answered "
    "SOLD_OUT).",
    ["outcome"],
)
REDEMPTIONS = Counter("couponsite_redemptions", "Coupons redeemed (committed).")
MESSAGES = Counter(
    "couponsite_messages",
    "Messages to customers handed to the provider: sent, retry (an attempt "
    "failed, another follows) or failed (the last attempt failed), by channel.",
    ["channel", "outcome"],
)
SMS_REFUSALS = Counter(
    "couponsite_sign_in_sms_refusals",
    "Sign-in codes not texted by the abuse controls, by reason: country (not in "
    "SMS_ALLOWED_COUNTRIES), prefix (SMS_PREFIX_LIMIT), budget (SMS_HOURLY_BUDGET).",
    ["reason"],
)
REDIS_FALLBACKS = Counter(
    "couponsite_redis_fallbacks",
    "Times Redis failed and the code went on without it (Postgres decides, or the "
    "shortcut is skipped), by where.",
    ["where"],
)
# Records the schedule purged (couponsite.retention), by kind.
RETENTION_PURGED = Counter(
    "couponsite_retention_purged",
    "Rows purged past their retention (sign_in_codes, email_codes, "
    "idempotency_keys, webhook_deliveries, webhook_events), by kind.",
    ["kind"],
)

DRAWS_WON = DRAWS.labels("won")
DRAWS_LOST = DRAWS.labels("lost")
GRABS_WON = GRABS.labels("won")
GRABS_SOLD_OUT = GRABS.labels("sold_out")


def count_on_commit(counter, amount: float = 1) -> None:
    """Count ``amount`` on ``counter`` (a metric without labels, or a labelled
    child) once the current transaction commits; nothing if it rolls back. Out
    of a transaction, at once."""
    transaction.on_commit(lambda: counter.inc(amount))


def redis_fallback(where: str) -> None:
    """Redis failed at ``where`` (a short fixed name) and the code went on without it."""
    _child(REDIS_FALLBACKS, where).inc()


def retention_purged(kind: str, count: int) -> None:
    """``count`` rows of ``kind`` purged past their retention (a fixed name)."""
    _child(RETENTION_PURGED, kind).inc(count)


class RedisFallbackFilter(logging.Filter):
    """Counts each error django-redis ignored (``IGNORE_EXCEPTIONS``: the cache
    answered a miss or dropped a write) as a fallback ``cache``; on the
    ``couponsite.redis`` logger (settings.LOGGING). Lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redis_fallback("cache")
        return True


__all__ = [
    "CLAIMS",
    "DRAWS_LOST",
    "DRAWS_WON",
    "GRABS_SOLD_OUT",
    "GRABS_WON",
    "MESSAGES",
    "REDEMPTIONS",
    "RESERVATIONS",
    "ROUTE_KEY",
    "UNMATCHED",
    "RedisFallbackFilter",
    "answer_observe",
    "count_on_commit",
    "process_name",
    "rate_limited",
    "redis_fallback",
    "refused",
]
