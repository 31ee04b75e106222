"""Why a voucher cannot be used, looked up, voided or rolled back.

Raised by ``vouchers.selectors`` (lookups and checks) and ``vouchers.services``
(redemption and staff writes) alike, so they live apart from both.
"""

from django.utils.translation import gettext_lazy as _

from couponsite.errors import DomainError, NotFound


class VoucherNotFound(NotFound):
    detail = _("No such voucher.")


class AlreadyRedeemed(DomainError):
    code = "ALREADY_REDEEMED"
    detail = _("This voucher was already redeemed.")


class VoucherExpired(DomainError):
    code = "EXPIRED"
    detail = _("This voucher has expired.")


class VoucherVoid(DomainError):
    code = "VOID"
    detail = _("This voucher was voided.")


class HoldExpired(DomainError):
    code = "HOLD_EXPIRED"
    detail = _("Your hold on this coupon ran out and it went back to the pool.")


class NotRedeemed(DomainError):
    code = "NOT_REDEEMED"
    detail = _("Only a redeemed voucher's redemption can be rolled back.")


class AlreadyVoid(DomainError):
    code = "VOID"
    detail = _("This voucher is already void.")


# An order's rules (``vouchers.pricing``, and the per-customer limit of
# ``vouchers.services.voucher_redeem``): the first one that fails is the answer.
class OrderRequired(DomainError):
    code = "ORDER_REQUIRED"
    detail = _(
        "This voucher has rules about the order (a minimum amount or "
        "categories): send the `order` to redeem it."
    )


class CurrencyMismatch(DomainError):
    code = "CURRENCY_MISMATCH"
    detail = _("This voucher applies to orders in another currency.")


class OrderBelowMinimum(DomainError):
    code = "ORDER_BELOW_MINIMUM"
    detail = _("The order is below this voucher's minimum.")


class CategoryNotEligible(DomainError):
    code = "CATEGORY_NOT_ELIGIBLE"
    detail = _("The order lists none of the categories this voucher applies to.")


class RedemptionLimitReached(DomainError):
    code = "REDEMPTION_LIMIT_REACHED"
    detail = _(
        "You have already redeemed as many of this campaign's vouchers as allowed."
    )
