"""A customer erases themself: a fresh sign-in code as proof (a wrong one is
refused), ``DELETE /me`` (the code in its ``Erasure-Code`` header) through the generated client, then their token is
refused, the phone cannot sign up again at once, and staff can no longer block
the erased customer."""

import time

from couponsite_client.api.auth import (
    auth_otp_create,
    auth_token_create,
    me_destroy,
    me_retrieve,
)
from couponsite_client.api.customers import customers_block_create
from couponsite_client.models import (
    BlockReasonRequest,
    Customer,
    OtpRequestRequest,
    TokenRequestRequest,
)

from contract.flow import Flow
from contract.flow.signin import ERASED

# OTP_RESEND_SECONDS, the server's default: the gap between two codes to a phone.
RESEND_SECONDS = 30


def _code(flow: Flow, step: str, phone: str) -> str | None:
    asked = time.time() - 1
    flow.h.call(
        step,
        lambda: auth_otp_create.sync_detailed(
            client=flow.anon, body=OtpRequestRequest(phone=phone)
        ),
        expect=202,
    )
    return flow.sms_code(phone, after=asked)


def run(flow: Flow) -> None:
    h = flow.h
    name, phone = ERASED
    erin = flow.customer(name)
    me = h.call(
        "erasure: read the account first",
        lambda: me_retrieve.sync_detailed(client=erin),
        expect=200,
        want=Customer,
    )
    # Signed in at the start (sign-in section): wait out the resend gap.
    time.sleep(
        max(0.0, flow.signed_in_at.get(name, 0) + RESEND_SECONDS + 1 - time.time())
    )
    code = _code(flow, "erasure: ask for a code to prove the phone", phone)
    if code is None:
        flow.notes.append(f"erasure: no SMS with a code reached {phone}")
        return
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    h.call(
        "erasure: a wrong code",
        lambda: me_destroy.sync_detailed(client=erin, erasure_code=wrong),
        expect=400,
        code="OTP_INVALID",
    )
    h.call(
        "erasure: with the code",
        lambda: me_destroy.sync_detailed(client=erin, erasure_code=code),
        expect=204,
    )
    h.call(
        "erasure: the token is refused from then on",
        lambda: me_retrieve.sync_detailed(client=erin),
        expect=401,
        code="INVALID_TOKEN",
    )
    if me is not None:
        flow.part("erasure: staff block the erased customer", block_erased, me.id)
    time.sleep(1.1)  # sms_code reads texts from a second before the ask on
    again = _code(flow, "erasure: the phone asks for a code again", phone)
    if again is None:
        flow.notes.append(f"erasure: no second SMS reached {phone}")
        return
    h.call(
        "erasure: the phone cannot sign up again at once",
        lambda: auth_token_create.sync_detailed(
            client=flow.anon, body=TokenRequestRequest(phone=phone, code=again)
        ),
        expect=403,
        code="PHONE_RECENTLY_ERASED",
    )


def block_erased(flow: Flow, customer_id: int) -> None:
    flow.h.call(
        "erasure: staff block the erased customer",
        lambda: customers_block_create.sync_detailed(
            customer_id, client=flow.support, body=BlockReasonRequest(reason="late")
        ),
        expect=409,
        code="CUSTOMER_ERASED",
    )
