"""``GET /metrics``: Prometheus's scrape, for the allowed networks and token only.

Outside the versioned API and its schema: it is for the operator's Prometheus,
not for the API's clients, and its body is Prometheus's text format.

Who may scrape (``settings``):

- ``METRICS_ALLOWED_NETWORKS``: the client's address (``client_ip``: the
  proxy's ``X-Forwarded-For`` believed from ``TRUSTED_PROXIES`` only) must be in
  one of them; loopback only by default, nobody when empty;
- ``METRICS_TOKEN``: when set, the request must also carry
  ``Authorization: Bearer <token>``.

Anyone else is answered 403 with the API's ``{code, detail}`` body.

Under gunicorn every worker writes its values to ``PROMETHEUS_MULTIPROC_DIR``
and the scrape adds up the files (``MultiProcessCollector``), whichever worker
answers it. Figures that are a state of the database, not events of a process
(the task queue's depth, the last invariant audit), are read at the scrape
itself (``FIGURES``): the apps add theirs when Django starts.
"""

import hmac
import logging
import os
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from couponsite.api.client_ip import address_in, client_ip
from couponsite.api.exceptions import error_body, get_only

logger = logging.getLogger(__name__)

# Read at each scrape; each yields Prometheus metric families (e.g. ``GaugeMetricFamily``).
FIGURES: list[Callable[[], Iterable[Metric]]] = []


def task_queue_figures() -> Iterable[Metric]:
    """The task queue (``couponsite.background.figures.queue_figures``), one query."""
    from couponsite.background.figures import queue_figures

    figures = queue_figures()
    depth = GaugeMetricFamily(
        "couponsite_task_queue_tasks",
        "Tasks in the queue by state: waiting (due), scheduled (later), running, "
        "failed.",
        labels=["state"],
    )
    for state in ("waiting", "scheduled", "running", "failed"):
        depth.add_metric([state], getattr(figures, state))
    yield depth
    yield GaugeMetricFamily(
        "couponsite_task_queue_oldest_waiting_seconds",
        "How long the oldest due task has waited (0 when none waits).",
        value=figures.oldest_waiting_seconds or 0.0,
    )


FIGURES.append(task_queue_figures)


class _Figures:
    """The scrape-time figures; one that fails is left out (and logged)."""

    def collect(self) -> Iterable[Metric]:
        for figures in FIGURES:
            try:
                yield from list(figures())
            except Exception:
                logger.warning("metrics: figures %s not read", figures, exc_info=True)


class _ThisProcess:
    """The process's own registry, when there is no multiprocess directory."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def scrape() -> bytes:
    """The text Prometheus reads: every process's values, then the figures."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_Figures())
    return generate_latest(registry)


def _refusal(request) -> JsonResponse | None:
    """The answer to someone who may not scrape; None for the scraper."""
    if refused := get_only(request):
        return refused
    if not address_in(client_ip(request), settings.METRICS_ALLOWED_NETWORKS):
        return JsonResponse(
            error_body(
                "PERMISSION_DENIED",
                gettext(
                    "Metrics are served to the addresses of "
                    "METRICS_ALLOWED_NETWORKS only."
                ),
            ),
            status=403,
        )
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return JsonResponse(
                error_body(
                    "PERMISSION_DENIED",
                    gettext("Metrics need the bearer token of METRICS_TOKEN."),
                ),
                status=403,
            )
    return None


def metrics_view(request) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    try:
        body = scrape()
    except Exception:  # never a 500: the scraper sees the target down instead
        logger.exception("metrics: the scrape failed")
        return JsonResponse(
            error_body(
                "SERVICE_UNAVAILABLE", gettext("The metrics could not be read.")
            ),
            status=503,
        )
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
