"""The invariant audit: every rule the product promises, checked against the rows.

Constraints, conditional UPDATEs and row locks keep these rules as rows are
written; this module checks, afterwards, that the rows agree with them (a bug,
a hand-made SQL fix, a restored backup). Each rule is one function returning a
``RuleResult``: what it looked at (``checked``), how many breaches there are,
and the first ``limit`` of them with the rows involved. Every count is an
aggregate query in the database (``GROUP BY … HAVING``, ``NOT EXISTS``,
correlated counts): memory stays bounded whatever the number of rows, and the
same queries run on Postgres and SQLite.

Where a rule needs a judgement, it takes the code's own definition (named in
the docstring); nothing here is stricter than what the services guarantee.
Run by ``manage.py audit_invariants`` and nightly by the schedule
(``draws.tasks``); ``audit_invariants_record`` keeps each run as an
``AuditRun`` for the back office's start page. It lives in ``draws`` because it reads
every mode's rows (and vouchers and campaigns below them).
"""

import datetime as dt
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from draws.audit_runs import AuditRun
from draws.invariants.base import DEFAULT_LIMIT, Breach, RuleResult
from draws.invariants.history import history_recorded
from draws.invariants.participation import (
    held_by_its_claim,
    holds_apart,
    once_a_day_kept,
)
from draws.invariants.quotas import (
    quota_counters_match,
    quota_daily_kept,
    quota_shares_add_up,
    quota_total_kept,
)
from draws.invariants.rush import rush_days_add_up

__all__ = [
    "DEFAULT_LIMIT",
    "RULES",
    "AuditRun",
    "Breach",
    "RuleResult",
    "audit_invariants",
    "audit_invariants_record",
]

RULES: list[Callable[..., RuleResult]] = [
    quota_total_kept,
    quota_daily_kept,
    once_a_day_kept,
    holds_apart,
    held_by_its_claim,
    rush_days_add_up,
    quota_counters_match,
    quota_shares_add_up,
    history_recorded,
]


def audit_invariants(
    *, now: dt.datetime | None = None, limit: int = DEFAULT_LIMIT
) -> list[RuleResult]:
    """Every rule's result, in ``RULES``' order (``limit`` breaches each, at most).

    On Postgres, outside any transaction, every query reads one snapshot
    (``REPEATABLE READ``, read-only): a rule's count and its rows, and one rule
    and the next, agree even while customers keep writing.
    """
    now = now or timezone.now()
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                )
        return [rule(now=now, limit=limit) for rule in RULES]


def audit_invariants_record(
    *, trigger: str, limit: int = DEFAULT_LIMIT
) -> tuple[AuditRun, list[RuleResult]]:
    """Run the audit and keep its result as an ``AuditRun`` (``trigger``: an
    ``AuditRun.Trigger``); the run and every rule's result. An audit that
    fails is kept too (not clean, with its error), then the error raised."""
    started_at = timezone.now()
    try:
        results = audit_invariants(limit=limit)
    except Exception as error:
        AuditRun.objects.create(
            trigger=trigger,
            started_at=started_at,
            finished_at=timezone.now(),
            clean=False,
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        raise
    breaches = sum(result.breach_count for result in results)
    run = AuditRun.objects.create(
        trigger=trigger,
        started_at=started_at,
        finished_at=timezone.now(),
        clean=breaches == 0,
        breaches=breaches,
        report=[result.as_dict() for result in results],
    )
    return run, results
