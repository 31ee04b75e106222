"""Why a voucher cannot be used, looked up, voided or rolled back.

Raised by ``vouchers.selectors`` (lookups and checks) and ``vouchers.services``
(redemption and staff writes) alike, so they live apart from both.
"""

from couponsite.errors import DomainError, NotFound


class VoucherNotFound(NotFound):
    detail = "No such voucher."


class AlreadyRedeemed(DomainError):
    code = "ALREADY_REDEEMED"
    detail = "This voucher was already redeemed."


class VoucherExpired(DomainError):
    code = "EXPIRED"
    detail = "This voucher has expired."


class VoucherVoid(DomainError):
    code = "VOID"
    detail = "This voucher was voided."


class HoldExpired(DomainError):
    code = "HOLD_EXPIRED"
    detail = "Your hold on this coupon ran out and it went back to the pool."


class NotRedeemed(DomainError):
    code = "NOT_REDEEMED"
    detail = "Only a redeemed voucher's redemption can be rolled back."


class AlreadyVoid(DomainError):
    code = "VOID"
    detail = "This voucher is already void."
