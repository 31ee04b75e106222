"""Every change the services make has its history event (rule 6)."""

import datetime as dt

from django.db.models import Exists, OuterRef

from draws.invariants.base import DEFAULT_LIMIT, Breach, RuleResult
from draws.models import Claim
from vouchers.models import Voucher, VoucherEvent

# --- 6. Every change has its history event -------------------------------------------


def history_recorded(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """What the services write in the same transaction as the change: a
    redeemed voucher has a REDEEMED event (``voucher_redeem``), a void one a
    VOIDED event (``voucher_void``), every claim a CLAIMED event of its voucher
    for its customer at its moment (``claim_take``). (A draw's or grab's coupon
    gets no event: its ``Draw`` or ``Grab`` row is its history.)"""
    Kind = VoucherEvent.Kind

    def events(kind: str):
        return VoucherEvent.objects.filter(voucher_id=OuterRef("pk"), kind=kind)

    result = RuleResult(
        code="HISTORY_MISSING",
        rule="every redemption, void and claim has its history event",
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
    ]
    for what, kind, rows, event in checks:
        result.checked += rows.count()
        missing = rows.filter(~Exists(event)).order_by("pk")
        result.breach_count += missing.count()
        for pk, campaign_id in missing.values_list("pk", "campaign_id")[
            : max(0, limit - len(result.breaches))
        ]:
            name = "claim" if what == "claim" else "voucher"
            result.breaches.append(
                Breach(
                    "HISTORY_MISSING",
                    f"{name.capitalize()} {pk} ({what}) has no {kind.label!r} event.",
                    {"what": what, name: pk, "campaign": campaign_id},
                )
            )
    return result
