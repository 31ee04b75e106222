"""The last invariant audit, for the metrics' scrape (``couponsite.metrics.exposition``).

Read from the latest ``AuditRun`` at each scrape, not counted by the process
that ran the audit: the audit runs at night in a task worker, and its verdict
must still be on the scrape after any process restarts.
"""

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from draws.audit_runs import AuditRun


def audit_figures() -> Iterable[Metric]:
    run = (
        AuditRun.objects.filter(finished_at__isnull=False)
        .only("finished_at", "clean", "breaches", "error")
        .first()
    )
    if run is None:
        return
    yield GaugeMetricFamily(
        "couponsite_audit_last_breaches",
        "Rows breaking an invariant in the last audit (0: every rule held).",
        value=run.breaches,
    )
    yield GaugeMetricFamily(
        "couponsite_audit_last_failed",
        "1 when the last audit did not finish (its error is in the back office).",
        value=1 if run.error else 0,
    )
    yield GaugeMetricFamily(
        "couponsite_audit_last_finished_timestamp_seconds",
        "When the last audit finished (Unix time).",
        value=run.finished_at.timestamp(),
    )
