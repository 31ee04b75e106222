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


# An order's rules (``vouchers.pricing``, and the per-customer limit of
# ``vouchers.services.voucher_redeem``): the first one that fails is the answer.
class OrderRequired(DomainError):
    code = "ORDER_REQUIRED"
    detail = (
        "This voucher has rules about the order (a minimum amount or "
        "categories): send the `order` to redeem it."
    )


class CurrencyMismatch(DomainError):
    code = "CURRENCY_MISMATCH"
    detail = "This voucher applies to orders in another currency."


class OrderBelowMinimum(DomainError):
    code = "ORDER_BELOW_MINIMUM"
    detail = "The order is below this voucher's minimum."


class CategoryNotEligible(DomainError):
    code = "CATEGORY_NOT_ELIGIBLE"
    detail = "The order lists none of the categories this voucher applies to."


class RedemptionLimitReached(DomainError):
    code = "REDEMPTION_LIMIT_REACHED"
    detail = "You have already redeemed as many of this campaign's vouchers as allowed."
