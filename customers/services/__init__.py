"""Every write about customers, sign-in codes, email verification and tokens."""

from customers.services.email import (
    KEEP,
    EmailCodeAttemptsExceeded,
    EmailCodeExpired,
    EmailCodeInvalid,
    EmailResendTooSoon,
    EmailTaken,
    customer_update,
    email_verification_start,
    email_verify,
    verified_owners,
)
from customers.services.erased_phones import PhoneRecentlyErased
from customers.services.erasure import CustomerAlreadyErased, customer_erase
from customers.services.signin import (
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    OtpResendTooSoon,
    customer_get_or_create,
    otp_exchange,
    otp_send,
    staff_user_get_or_create,
    token_create,
    token_lifetime,
    token_revoke,
)

__all__ = [
    "KEEP",
    "CustomerAlreadyErased",
    "EmailCodeAttemptsExceeded",
    "EmailCodeExpired",
    "EmailCodeInvalid",
    "EmailResendTooSoon",
    "EmailTaken",
    "OtpAttemptsExceeded",
    "OtpExpired",
    "OtpInvalid",
    "OtpResendTooSoon",
    "PhoneRecentlyErased",
    "customer_erase",
    "customer_get_or_create",
    "customer_update",
    "email_verification_start",
    "email_verify",
    "otp_exchange",
    "otp_send",
    "staff_user_get_or_create",
    "token_create",
    "token_lifetime",
    "token_revoke",
    "verified_owners",
]
