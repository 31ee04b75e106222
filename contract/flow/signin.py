"""Sign-in by SMS code, the customer's profile, and the refusals around them."""

import time

from couponsite_client import AuthenticatedClient, Client
from couponsite_client.api.auth import (
    auth_otp_create,
    auth_token_create,
    me_partial_update,
    me_retrieve,
)
from couponsite_client.api.campaigns import campaigns_list, campaigns_retrieve
from couponsite_client.models import (
    Customer,
    OtpRequestRequest,
    OtpSent,
    PatchedCustomerUpdateRequest,
    Token,
    TokenRequestRequest,
)

from contract.flow import Flow

# Fictional numbers (555-01xx / 555-03xx are reserved for fiction in the NANP).
CUSTOMERS = {
    "alice": "+14155550301",
    "bob": "+14155550302",
    "carol": "+14155550303",
    "dave": "+14155550304",
}
# Signs in here, takes part in nothing and erases themself at the end
# (contract/flow/erasure.py).
ERASED = ("erin", "+14155550306")
# Used only for the resend and rate-limit refusals (scripts/contract sets
# RATE_LIMIT_OTP_PHONE=3/hour so the fourth request in an hour is refused).
LIMITED_PHONE = "+14155550309"


def sign_in(flow: Flow, name: str, phone: str) -> AuthenticatedClient | None:
    h = flow.h
    asked = time.time() - 1
    h.call(
        f"sign-in ({name}): ask for a code",
        lambda: auth_otp_create.sync_detailed(
            client=flow.anon, body=OtpRequestRequest(phone=phone)
        ),
        expect=202,
        want=OtpSent,
    )
    code = flow.sms_code(phone, after=asked)
    if code is None:
        flow.notes.append(f"sign-in ({name}): no SMS with a code reached {phone}")
        return None
    token = h.call(
        f"sign-in ({name}): exchange the code for a token",
        lambda: auth_token_create.sync_detailed(
            client=flow.anon, body=TokenRequestRequest(phone=phone, code=code)
        ),
        expect=200,
        want=Token,
    )
    if token is None:
        return None
    h.same(f"sign-in ({name})", "token.customer.phone", token.customer.phone, phone)
    return flow.client(token.token)


def run(flow: Flow) -> None:
    h = flow.h
    # What a generator makes of each operation's security: the ones anyone may
    # call must take a plain Client.
    for function in (
        auth_otp_create.sync_detailed,
        auth_token_create.sync_detailed,
        campaigns_list.sync_detailed,
        campaigns_retrieve.sync_detailed,
    ):
        h.accepts_anonymous("generated signatures", function, Client)

    for name, phone in [*CUSTOMERS.items(), ERASED]:
        client = sign_in(flow, name, phone)
        if client is not None:
            flow.customers[name] = client
            flow.signed_in_at[name] = time.time()

    alice = flow.customer("alice")
    me = h.call(
        "me: read",
        lambda: me_retrieve.sync_detailed(client=alice),
        expect=200,
        want=Customer,
    )
    if me is not None:
        h.same("me: read", "me.phone", me.phone, CUSTOMERS["alice"])
    h.call(
        "me: change the name only",
        lambda: me_partial_update.sync_detailed(
            client=alice, body=PatchedCustomerUpdateRequest(name="Alice")
        ),
        expect=200,
        want=Customer,
    )
    h.call(
        "campaigns: list, anonymously",
        lambda: campaigns_list.sync_detailed(client=flow.anon),
        expect=200,
    )
    h.call(
        "campaigns: an unknown slug",
        lambda: campaigns_retrieve.sync_detailed("no-such-campaign", client=flow.anon),
        expect=404,
        code="NOT_FOUND",
    )
    refusals(flow)


def refusals(flow: Flow) -> None:
    h = flow.h
    h.call(
        "sign-in: a phone that is not one",
        lambda: auth_otp_create.sync_detailed(
            client=flow.anon, body=OtpRequestRequest(phone="not a phone")
        ),
        expect=400,
        code="VALIDATION_ERROR",
        natural=False,
    )
    h.call(
        "sign-in: first code for the limited phone",
        lambda: auth_otp_create.sync_detailed(
            client=flow.anon, body=OtpRequestRequest(phone=LIMITED_PHONE)
        ),
        expect=202,
    )
    for attempt in (2, 3):
        h.call(
            f"sign-in: ask again at once ({attempt})",
            lambda: auth_otp_create.sync_detailed(
                client=flow.anon, body=OtpRequestRequest(phone=LIMITED_PHONE)
            ),
            expect=429,
            code="OTP_RESEND_TOO_SOON",
        )
    h.call(
        "sign-in: past the phone's hourly limit",
        lambda: auth_otp_create.sync_detailed(
            client=flow.anon, body=OtpRequestRequest(phone=LIMITED_PHONE)
        ),
        expect=429,
        code="RATE_LIMITED",
    )
    h.call(
        "sign-in: a wrong code",
        lambda: auth_token_create.sync_detailed(
            client=flow.anon,
            body=TokenRequestRequest(phone=LIMITED_PHONE, code="000000"),
        ),
        expect=400,
        code="OTP_INVALID",
    )
    h.call(
        "sign-in: a code that is not six digits",
        lambda: auth_token_create.sync_detailed(
            client=flow.anon, body=TokenRequestRequest(phone=LIMITED_PHONE, code="12")
        ),
        expect=400,
        code="VALIDATION_ERROR",
        natural=False,
    )
    h.call(
        "me: without a token",
        lambda: me_retrieve.sync_detailed(client=flow.anon),  # type: ignore[arg-type]
        expect=401,
        code="NOT_AUTHENTICATED",
    )
    h.call(
        "me: with a token that does not exist",
        lambda: me_retrieve.sync_detailed(client=flow.client("not-a-real-token")),
        expect=401,
        code="INVALID_TOKEN",
    )
    h.call(
        "me: staff are not customers",
        lambda: me_retrieve.sync_detailed(client=flow.staff),
        expect=403,
        code="PERMISSION_DENIED",
    )
