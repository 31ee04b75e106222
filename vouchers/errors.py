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
