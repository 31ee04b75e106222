"""A customer adds an email vouchers were issued to: once it is theirs (proven
by the code mailed to it, where the schema has `POST /me/email/verify`), the
vouchers are theirs, and another customer cannot take the email."""

from couponsite_client.api.auth import me_partial_update
from couponsite_client.api.vouchers import vouchers_list
from couponsite_client.models import (
    Customer,
    PaginatedVoucherList,
    PatchedCustomerUpdateRequest,
    VoucherGenerateResult,
)

from contract.flow import Flow

LATER_EMAIL = "pool-later@example.com"
VERIFY = ("post", "/api/v1/me/email/verify")


def run(flow: Flow, many: VoucherGenerateResult | None) -> None:
    h = flow.h
    dave = flow.customer("dave")
    verified = flow.h.spec.operation(*VERIFY) is not None
    if verified:
        claim_email(flow, "dave", LATER_EMAIL, verify_expect=200)
    else:
        h.call(
            "pool: dave adds his email",
            lambda: me_partial_update.sync_detailed(
                client=dave, body=PatchedCustomerUpdateRequest(email=LATER_EMAIL)
            ),
            expect=200,
            want=Customer,
        )
    mine = h.call(
        "pool: dave lists his vouchers",
        lambda: vouchers_list.sync_detailed(client=dave),
        expect=200,
        want=PaginatedVoucherList,
    )
    if mine is not None and many is not None:
        issued = [v.code for v in many.vouchers if v.email == LATER_EMAIL]
        h.same(
            "pool: dave lists his vouchers",
            "vouchers issued to his email are his",
            [v.code for v in mine.results],
            issued,
        )
    if verified:
        claim_email(flow, "carol", LATER_EMAIL, verify_expect=409, code="EMAIL_TAKEN")
    else:
        h.call(
            "pool: carol takes dave's email",
            lambda: me_partial_update.sync_detailed(
                client=flow.customer("carol"),
                body=PatchedCustomerUpdateRequest(email=LATER_EMAIL),
            ),
            expect=409,
            code="EMAIL_TAKEN",
        )


def claim_email(
    flow: Flow, name: str, email: str, *, verify_expect: int, code: str | None = None
) -> None:
    """Ask for ``email`` (202: a code is mailed), then prove it with the code."""
    h = flow.h
    client = flow.customer(name)
    seen = flow.mails_to(email)
    h.call(
        f"pool: {name} asks to use {email}",
        lambda: me_partial_update.sync_detailed(
            client=client, body=PatchedCustomerUpdateRequest(email=email)
        ),
        expect=202,
        want=Customer,
    )
    mailed = flow.need(flow.mail_code(email, seen=seen), f"code mailed to {email}")
    verify = flow.function(*VERIFY)
    body = flow.need(
        flow.body(verify, {"code": mailed}), "generated body for the verification"
    )
    h.call(
        f"pool: {name} proves {email} with the mailed code",
        lambda: verify(client=client, body=body),
        expect=verify_expect,
        code=code,
    )
