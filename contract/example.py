"""The worked example of docs/integrating.md, run by the contract job.

A customer signs in with the code texted to them; a checkout redeems a voucher
exactly once whatever the network does. Only the generated client is used.
"""

import time
from collections.abc import Callable

import httpx
from couponsite_client import AuthenticatedClient, Client
from couponsite_client.api.auth import auth_otp_create, auth_token_create
from couponsite_client.api.vouchers import vouchers_redeem_create
from couponsite_client.models import (
    Error,
    OtpRequestRequest,
    Token,
    TokenRequestRequest,
    VoucherCheckResult,
    VoucherRedeemRequest,
)
from couponsite_client.types import Response

# Worth asking again, after Retry-After seconds, with the same Idempotency-Key.
RETRY_CODES = {"RATE_LIMITED", "IDEMPOTENCY_IN_PROGRESS"}


def sign_in(
    anonymous: Client, phone: str, read_code: Callable[[], str]
) -> Response[Error | Token]:
    """Text a code to ``phone``, then trade the code the customer types for a token."""
    auth_otp_create.sync_detailed(client=anonymous, body=OtpRequestRequest(phone=phone))
    return auth_token_create.sync_detailed(
        client=anonymous, body=TokenRequestRequest(phone=phone, code=read_code())
    )


def redeem_at_checkout(
    checkout: AuthenticatedClient,
    *,
    code: str,
    email: str,
    order_ref: str,
    attempts: int = 5,
) -> Response[Error | VoucherCheckResult]:
    """Redeem ``code`` for the order ``order_ref``: one Idempotency-Key for every
    try, so a retry after a lost answer can never redeem twice."""
    key = f"redeem-{order_ref}"
    body = VoucherRedeemRequest(code=code, email=email, order_ref=order_ref)
    for attempt in range(1, attempts + 1):
        try:
            response = vouchers_redeem_create.sync_detailed(
                client=checkout, body=body, idempotency_key=key
            )
        except httpx.TransportError:  # no answer: it may or may not have happened
            time.sleep(attempt)
            continue
        answer = response.parsed
        retry = response.status_code >= 500 or (
            isinstance(answer, Error) and answer.code in RETRY_CODES
        )
        if not retry or attempt == attempts:
            return response  # 200, or a final no: ALREADY_REDEEMED, EXPIRED, …
        time.sleep(int(response.headers.get("Retry-After", attempt)))
    raise RuntimeError(f"no answer from the coupon service for order {order_ref}")
