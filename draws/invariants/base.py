"""What a rule returns (``RuleResult`` with its ``Breach``es) and the helpers
every rule shares: a correlated count, and a result from a query of breaches."""

from dataclasses import asdict, dataclass, field

from django.db.models import F, Func, IntegerField, Subquery
from django.db.models.functions import Coalesce

DEFAULT_LIMIT = 100


@dataclass
class Breach:
    code: str
    message: str
    rows: dict


@dataclass
class RuleResult:
    code: str
    rule: str
    checked: int
    breach_count: int = 0
    breaches: list[Breach] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def count_of(queryset) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``queryset`` (already filtered on
    ``OuterRef``s) as an expression. ``COUNT`` as a plain function, not an
    aggregate, so the subquery gets no ``GROUP BY``: one row, its count."""
    counted = queryset.order_by().annotate(_n=Func(F("pk"), function="COUNT"))
    return Coalesce(Subquery(counted.values("_n")[:1], output_field=IntegerField()), 0)


def result_of(code, rule, checked, breaches_qs, to_breach, limit) -> RuleResult:
    """The rule's result: ``breaches_qs`` counted, its first ``limit`` rows made
    into breaches by ``to_breach``."""
    return RuleResult(
        code=code,
        rule=rule,
        checked=checked,
        breach_count=breaches_qs.count(),
        breaches=[to_breach(row) for row in breaches_qs[:limit]],
    )
