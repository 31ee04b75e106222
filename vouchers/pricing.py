"""What a voucher takes off an order: the discount arithmetic and the order rules.

Plain Python, no ORM: ``Terms`` is what a voucher carries (its benefit and the
redemption rules copied at issue), ``Order`` what the checkout sends, and
``price`` answers the money off, or raises the first rule the order fails
(a ``DomainError`` with a stable ``code``). ``vouchers.selectors.voucher_check``
and ``vouchers.services.voucher_redeem`` call it; the per-customer limit is
not here: it needs the database (``voucher_redeem`` counts under a lock).

- A percentage off is ``amount * percent / 100``, rounded half up to the
  currency's minor unit (0.005 → 0.01: the customer gets the half cent), then
  capped by ``max_discount``; an amount off is ``min(amount, order)``; a free
  item takes no money off (the answer names the item). Never below 0, never
  above the order.
- The rules, in this order (the first that fails is the answer): the currency
  (the coupon's ``currency``, when it has one, must be the order's:
  ``CURRENCY_MISMATCH``), the minimum order (``ORDER_BELOW_MINIMUM``), the
  categories (the order must list one of the coupon's:
  ``CATEGORY_NOT_ELIGIBLE``). A coupon's categories say which orders it
  applies to; the discount applies to the whole order amount.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.utils.translation import gettext

from campaigns.models import Benefit, normalize_categories
from couponsite.languages import format_money
from vouchers.errors import CategoryNotEligible, CurrencyMismatch, OrderBelowMinimum

# ISO 4217 minor units where they are not 2 (the standard's table; its units
# of account with 4 places, CLF and UYW, are no order's currency).
_MINOR_UNITS = {
    **dict.fromkeys(
        [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
            "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}  # fmt: skip
# The most places any currency above has that an order may use.
MAX_MINOR_UNITS = 3


def minor_units(currency: str) -> int:
    """Decimal places of ``currency``'s smallest unit (2 unless ISO says otherwise)."""
    return _MINOR_UNITS.get(currency, 2)


def quantize(value: Decimal, currency: str) -> Decimal:
    """``value`` to the currency's minor unit, half up."""
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), ROUND_HALF_UP)


def money_text(value: Decimal, currency: str) -> str:
    """Money as the API writes it: a decimal string with the currency's places."""
    return f"{quantize(value, currency):f}"


@dataclass(frozen=True, slots=True)
class Order:
    amount: Decimal  # at least 0, no more places than the currency has
    currency: str  # ISO 4217, upper case
    categories: tuple[str, ...] = ()  # normalized (``normalize_categories``)


@dataclass(frozen=True, slots=True)
class Terms:
    """A voucher's benefit and redemption rules, as snapshotted at issue."""

    benefit_kind: str
    amount: Decimal | None = None
    currency: str = ""
    percent: Decimal | None = None
    free_item: str = ""
    min_order_amount: Decimal | None = None
    max_discount: Decimal | None = None
    categories: tuple[str, ...] = ()
    per_customer_limit: int | None = None

    @classmethod
    def of(cls, voucher) -> "Terms":
        """``voucher``: anything with the benefit and rules fields (a model)."""
        return cls(
            benefit_kind=voucher.benefit_kind,
            amount=voucher.amount,
            currency=voucher.currency,
            percent=voucher.percent,
            free_item=voucher.free_item,
            min_order_amount=voucher.min_order_amount,
            max_discount=voucher.max_discount,
            categories=normalize_categories(voucher.categories.split(",")),
            per_customer_limit=voucher.per_customer_limit,
        )

    @property
    def needs_order(self) -> bool:
        """Whether a redemption must say what the order is (a rule reads it)."""
        return self.min_order_amount is not None or bool(self.categories)


@dataclass(frozen=True, slots=True)
class Priced:
    """What a voucher takes off an order."""

    discount: Decimal  # money, in ``currency``, quantized to its minor unit
    currency: str
    free_item: str | None = None

    @property
    def discount_text(self) -> str:
        return money_text(self.discount, self.currency)


def price(terms: Terms, order: Order) -> Priced:
    """The money ``terms`` take off ``order``; raises the first rule it fails."""
    if terms.currency and order.currency != terms.currency:
        raise CurrencyMismatch(
            gettext("This voucher applies to orders in %(currency)s, not %(order)s.")
            % {"currency": terms.currency, "order": order.currency}
        )
    if terms.min_order_amount is not None and order.amount < terms.min_order_amount:
        raise OrderBelowMinimum(
            gettext("This voucher needs an order of at least %(minimum)s.")
            % {"minimum": format_money(terms.min_order_amount, order.currency)}
        )
    if terms.categories and not set(order.categories) & set(terms.categories):
        raise CategoryNotEligible(
            gettext("This voucher applies only to orders with: %(categories)s.")
            % {"categories": ", ".join(terms.categories)}
        )
    return Priced(
        discount=discount(terms, order),
        currency=order.currency,
        free_item=(
            terms.free_item if terms.benefit_kind == Benefit.Kind.FREE_ITEM else None
        ),
    )


def discount(terms: Terms, order: Order) -> Decimal:
    """The arithmetic alone (no rule): the money off, 0 to the order amount.

    The coupon's own amounts (an amount off, a cap) are rounded down to the
    order currency's unit, so rounding never gives more than they say."""
    if terms.benefit_kind == Benefit.Kind.PERCENT:
        off = quantize(order.amount * terms.percent / 100, order.currency)
        if terms.max_discount is not None:
            off = min(off, _floor(terms.max_discount, order.currency))
    elif terms.benefit_kind == Benefit.Kind.AMOUNT:
        off = _floor(terms.amount, order.currency)
    else:
        off = Decimal(0)
    return quantize(max(Decimal(0), min(off, order.amount)), order.currency)


def _floor(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), ROUND_DOWN)
