"""docs/integrating.md's worked example (contract/example.py), run as written."""

import time

from couponsite_client.api.auth import me_retrieve
from couponsite_client.models import (
    Customer,
    Token,
    VoucherCheckResult,
)

from contract import example
from contract.flow import Flow
from contract.flow.pool import generate

PHONE = "+14155550305"
EMAIL = "guide@example.com"


def run(flow: Flow) -> None:
    h = flow.h
    asked = time.time() - 1
    token = flow.need(
        h.call(
            "guide: sign_in",
            lambda: example.sign_in(
                flow.anon,
                PHONE,
                read_code=lambda: flow.sms_code(PHONE, after=asked) or "000000",
            ),
            expect=200,
            want=Token,
        ),
        "token from the guide's sign_in",
    )
    h.call(
        "guide: the token works",
        lambda: me_retrieve.sync_detailed(client=flow.client(token.token)),
        expect=200,
        want=Customer,
    )
    generated = flow.need(
        generate(
            flow,
            "guide: staff generate a voucher to redeem",
            {"offer_name": "GUIDE", "discount": "15.00", "email": EMAIL},
        ),
        "voucher for the guide",
    )
    code = generated.vouchers[0].code
    first = h.call(
        "guide: redeem_at_checkout",
        lambda: example.redeem_at_checkout(
            flow.staff, code=code, email=EMAIL, order_ref="A-1001"
        ),
        expect=200,
        want=VoucherCheckResult,
    )
    again = h.call(
        "guide: redeem_at_checkout retried for the same order",
        lambda: example.redeem_at_checkout(
            flow.staff, code=code, email=EMAIL, order_ref="A-1001"
        ),
        expect=200,
        want=VoucherCheckResult,
    )
    if first is not None and again is not None:
        h.same(
            "guide: retried",
            "used_at of the retry vs the first",
            again.used_at,
            first.used_at,
        )
        replayed = h.recorder.exchanges[-1].headers.get("idempotent-replayed")
        h.same("guide: retried", "Idempotent-Replayed on the retry", replayed, "true")
    h.call(
        "guide: redeem_at_checkout for another order",
        lambda: example.redeem_at_checkout(
            flow.staff, code=code, email=EMAIL, order_ref="A-1002"
        ),
        expect=409,
        code="ALREADY_REDEEMED",
    )
