"""Every change the services make has its history event (rule 6)."""

import datetime as dt

from django.db.models import DateTimeField, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_noop

from draws.invariants.base import DEFAULT_LIMIT, Breach, RuleResult
from draws.models import Claim
from vouchers.models import Voucher, VoucherEvent

# --- 6. Every change has its history event -------------------------------------------

# "No later claim": an upper bound every event's moment is below.
_NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def _lapsed_claims():
    """Claims whose hold ran out and was recorded as gone: the coupon was
    claimed again later, or (its latest claim) it is back in the pool. Each is
    annotated ``next_at``: when the next claim of its coupon came (or never).
    (A hold that ran out and nobody touched since is still ``held`` in the
    row: lapsed holds are computed, ``Voucher.effective_status``; nothing is
    recorded yet, so nothing is expected.)"""
    later = Claim.objects.filter(
        voucher_id=OuterRef("voucher_id"), created_at__gt=OuterRef("created_at")
    ).order_by("created_at", "pk")
    return Claim.objects.annotate(
        next_at=Coalesce(
            Subquery(later.values("created_at")[:1]),
            Value(_NEVER, output_field=DateTimeField()),
        )
    ).filter(Q(next_at__lt=_NEVER) | Q(voucher__status=Voucher.Status.AVAILABLE))


def history_recorded(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """What the services write in the same transaction as the change: a
    redeemed voucher has a REDEEMED event (``voucher_redeem``), a void one a
    VOIDED event (``voucher_void``), every claim a CLAIMED event of its voucher
    for its customer at its moment (``claim_take``), and every claim whose hold
    ran out and was given up (claimed again, or put back by
    ``holds_release_expired``) an EXPIRED event of its voucher for its customer,
    from the end of its hold until the next claim (``claim_take`` and the group
    commit when they take a lapsed coupon, the sweeper when it frees one). (A
    draw's or grab's coupon gets no event: its ``Draw`` or ``Grab`` row is its
    history. A voucher past its ``expires_at`` is expired by computation,
    ``Voucher.effective_status``; no service writes that, so no event is due.)"""
    Kind = VoucherEvent.Kind

    def events(kind: str):
        return VoucherEvent.objects.filter(voucher_id=OuterRef("pk"), kind=kind)

    result = RuleResult(
        code="HISTORY_MISSING",
        rule=gettext_noop(
            "every redemption, void, claim and lapsed hold has its history event"
        ),
        checked=0,
    )
    checks = [
        (
            "redeemed",
            Kind.REDEEMED,
            Voucher.objects.filter(status=Voucher.Status.REDEEMED),
            events(Kind.REDEEMED),
        ),
        (
            "void",
            Kind.VOIDED,
            Voucher.objects.filter(status=Voucher.Status.VOID),
            events(Kind.VOIDED),
        ),
        (
            "claim",
            Kind.CLAIMED,
            Claim.objects.all(),
            VoucherEvent.objects.filter(
                voucher_id=OuterRef("voucher_id"),
                customer_id=OuterRef("customer_id"),
                created_at=OuterRef("created_at"),
                kind=Kind.CLAIMED,
            ),
        ),
        (
            "hold lapsed",
            Kind.EXPIRED,
            _lapsed_claims(),
            VoucherEvent.objects.filter(
                voucher_id=OuterRef("voucher_id"),
                customer_id=OuterRef("customer_id"),
                created_at__gte=OuterRef("held_until"),
                created_at__lte=OuterRef("next_at"),
                kind=Kind.EXPIRED,
            ),
        ),
    ]
    for what, kind, rows, event in checks:
        result.checked += rows.count()
        missing = rows.filter(~Exists(event)).order_by("pk")
        result.breach_count += missing.count()
        for pk, campaign_id in missing.values_list("pk", "campaign_id")[
            : max(0, limit - len(result.breaches))
        ]:
            name = "voucher" if what in ("redeemed", "void") else "claim"
            result.breaches.append(
                Breach(
                    "HISTORY_MISSING",
                    f"{name.capitalize()} {pk} ({what}) has no {kind.label!r} event.",
                    {"what": what, name: pk, "campaign": campaign_id},
                )
            )
    return result
