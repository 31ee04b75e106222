"""Voucher pool: staff generate vouchers for emails and redeem them at checkout.

Also a customer who adds the email later sees the voucher as theirs, and the
refusals: redeem twice, the wrong email, invalid input, an email already taken.
"""

import inspect
import threading
import time
from datetime import timedelta

from couponsite_client import AuthenticatedClient
from couponsite_client.api.auth import me_partial_update
from couponsite_client.api.vouchers import (
    vouchers_check_create,
    vouchers_create,
    vouchers_list,
    vouchers_redeem_create,
    vouchers_retrieve,
)
from couponsite_client.models import (
    PaginatedVoucherList,
    Voucher,
    VoucherCheckResult,
    VoucherCodeRequest,
    VoucherGenerateResult,
    VoucherRedeemRequest,
)
from couponsite_client.types import UNSET

from contract.flow import TIMEOUT, Flow, iso, now, owner_email
from contract.harness import Recorder

CHECKOUT_EMAIL = "pool-checkout@example.com"


def generate(
    flow: Flow,
    step: str,
    data: dict,
    *,
    expect: int = 201,
    code: str | None = None,
    client: AuthenticatedClient | None = None,
    key: str | None = None,
) -> VoucherGenerateResult | None:
    """POST /vouchers with whichever generated body model takes ``data``."""
    data = {"offer_name": "KOI", "discount": "22.10", **data}
    data.setdefault("expires_at", iso(now() + timedelta(days=30)))
    body = flow.body(vouchers_create.sync_detailed, data)
    if body is None:
        if expect < 400:
            flow.h.report.add(
                "client",
                "POST /api/v1/vouchers",
                f"no generated model takes {data}",
                step,
            )
        return None  # the schema itself refuses it: a client cannot send it
    return flow.h.call(
        step,
        lambda: vouchers_create.sync_detailed(
            client=client or flow.staff,
            body=body,
            idempotency_key=key if key is not None else UNSET,
        ),
        expect=expect,
        code=code,
        natural=expect < 400,
        want=VoucherGenerateResult,
    )


def run(flow: Flow) -> None:
    h = flow.h
    staff = flow.staff
    generated = flow.need(
        generate(
            flow,
            "pool: staff generate a voucher for one email",
            {"email": CHECKOUT_EMAIL},
        ),
        "generated voucher",
    )
    code = generated.vouchers[0].code
    many = generate(
        flow,
        "pool: staff generate vouchers for a list of emails",
        {"emails": [owner_email.LATER_EMAIL, "pool-other@example.com"]},
    )
    listed = h.call(
        "pool: staff list an email's vouchers",
        lambda: vouchers_list.sync_detailed(client=staff, email=CHECKOUT_EMAIL),
        expect=200,
        want=PaginatedVoucherList,
    )
    if listed is not None:
        h.same(
            "pool: staff list",
            "the generated code is listed",
            [v.code for v in listed.results],
            [code],
        )
    h.call(
        "pool: staff read the voucher",
        lambda: vouchers_retrieve.sync_detailed(code, client=staff),
        expect=200,
        want=Voucher,
    )
    h.call(
        "pool: staff check it with the email",
        lambda: vouchers_check_create.sync_detailed(
            client=staff, body=VoucherCodeRequest(code=code, email=CHECKOUT_EMAIL)
        ),
        expect=200,
        want=VoucherCheckResult,
    )
    h.call(
        "pool: staff check it with another email",
        lambda: vouchers_check_create.sync_detailed(
            client=staff,
            body=VoucherCodeRequest(code=code, email="someone@example.com"),
        ),
        expect=404,
        code="NOT_FOUND",
    )
    redeemed = h.call(
        "pool: staff redeem with the email (order_ref left unset)",
        lambda: vouchers_redeem_create.sync_detailed(
            client=staff, body=VoucherRedeemRequest(code=code, email=CHECKOUT_EMAIL)
        ),
        expect=200,
        want=VoucherCheckResult,
    )
    if redeemed is None:
        h.call(
            "pool: staff redeem with the email and an order_ref (after the natural call failed)",
            lambda: vouchers_redeem_create.sync_detailed(
                client=staff,
                body=VoucherRedeemRequest(
                    code=code, email=CHECKOUT_EMAIL, order_ref="ORDER-P1"
                ),
            ),
            expect=200,
        )
    h.call(
        "pool: staff redeem it again",
        lambda: vouchers_redeem_create.sync_detailed(
            client=staff,
            body=VoucherRedeemRequest(code=code, email=CHECKOUT_EMAIL, order_ref="P2"),
        ),
        expect=409,
        code="ALREADY_REDEEMED",
    )
    flow.part("voucher pool: an email becomes a customer's", owner_email.run, many)
    flow.part("voucher pool: a retry while the first call runs", in_progress)
    refusals(flow)
    optional_bodies(flow)


def optional_bodies(flow: Flow) -> None:
    """A body the generated function lets you leave out must not be required."""
    calls = [
        ("POST /vouchers", vouchers_create.sync_detailed, flow.staff, 201),
        ("POST /vouchers/check", vouchers_check_create.sync_detailed, flow.staff, 200),
        (
            "POST /vouchers/redeem",
            vouchers_redeem_create.sync_detailed,
            flow.staff,
            200,
        ),
        ("PATCH /me", me_partial_update.sync_detailed, flow.customer("bob"), 200),
    ]
    for label, function, client, success in calls:
        body = inspect.signature(function).parameters["body"]
        if body.default is inspect.Parameter.empty:
            continue
        flow.h.call(
            f"pool: {label} with the body left out (the generated function allows it)",
            lambda function=function, client=client: function(client=client),
            expect=success,
        )


def in_progress(flow: Flow) -> None:
    """Two calls with one Idempotency-Key at once (2,000 vouchers take a second
    or two): one runs, the other is told it is in progress, whichever the
    server saw first."""
    h = flow.h
    step = "pool: two calls with one Idempotency-Key at once"
    body = flow.need(
        flow.body(
            vouchers_create.sync_detailed,
            {
                "offer_name": "BULK",
                "discount": "5.00",
                "expires_at": iso(now() + timedelta(days=30)),
                "emails": [f"bulk{n}@example.com" for n in range(2000)],
            },
        ),
        "a generated body for 2,000 emails",
    )
    recorders = [Recorder(), Recorder()]

    def send(recorder: Recorder) -> None:
        client = AuthenticatedClient(
            base_url=flow.base_url,
            token=flow.staff_token,
            httpx_args=recorder.httpx_args,
            timeout=TIMEOUT,
        )
        vouchers_create.sync_detailed(
            client=client, body=body, idempotency_key="contract-bulk-1"
        )

    first = threading.Thread(target=send, args=(recorders[0],))
    first.start()
    time.sleep(0.5)
    send(recorders[1])
    first.join(timeout=60)
    exchanges = [e for recorder in recorders for e in recorder.exchanges]
    answers = sorted((e.status, e.error_code or "") for e in exchanges)
    for exchange in exchanges:
        h.check_exchange(step, exchange, expect=exchange.status)
    if answers == [(201, ""), (201, "")]:
        print(
            "contract: the first bulk call ended before the second came: not exercised"
        )
    elif answers != [(201, ""), (409, "IDEMPOTENCY_IN_PROGRESS")]:
        h.report.add(
            "answer",
            "POST /api/v1/vouchers",
            f"answered {answers}; expected one 201 and one 409 IDEMPOTENCY_IN_PROGRESS",
            step,
        )


def refusals(flow: Flow) -> None:
    h = flow.h
    day = timedelta(days=1)
    for step, data in (
        ("pool: a discount of 0", {"discount": "0", "email": CHECKOUT_EMAIL}),
        ("pool: neither email nor emails", {}),
        (
            "pool: an expiry in the past",
            {"expires_at": iso(now() - day), "email": CHECKOUT_EMAIL},
        ),
    ):
        generate(flow, step, data, expect=400, code="VALIDATION_ERROR")
    h.call(
        "pool: staff list without an email",
        lambda: vouchers_list.sync_detailed(client=flow.staff),
        expect=400,
        code="VALIDATION_ERROR",
        natural=False,
    )
