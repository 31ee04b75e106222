"""The money a voucher takes off an order, and the order's rules (vouchers/pricing.py):
properties over generated coupons and orders (hypothesis), then a few worked cases."""

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from campaigns.models import Benefit
from vouchers.errors import CategoryNotEligible, CurrencyMismatch, OrderBelowMinimum
from vouchers.pricing import Order, Terms, minor_units, price

CURRENCIES = ["HKD", "USD", "JPY", "KWD"]


def money(places: int = 2, max_value: str = "99999999.99"):
    return st.decimals(
        min_value=Decimal(0), max_value=Decimal(max_value), places=places
    )


@st.composite
def orders(draw, currency=None):
    currency = currency or draw(st.sampled_from(CURRENCIES))
    amount = draw(money(places=minor_units(currency), max_value="999999999999"))
    categories = tuple(draw(st.lists(st.sampled_from(["shoes", "bags", "hats"]))))
    return Order(amount=amount, currency=currency, categories=categories)


percents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2)
caps = st.none() | money().filter(lambda value: value > 0)


@st.composite
def terms(draw):
    """Any coupon without order rules: the arithmetic alone."""
    kind = draw(st.sampled_from(Benefit.Kind.values))
    if kind == Benefit.Kind.PERCENT:
        return Terms(benefit_kind=kind, percent=draw(percents), max_discount=draw(caps))
    if kind == Benefit.Kind.AMOUNT:
        amount = draw(money().filter(lambda value: value > 0))
        return Terms(benefit_kind=kind, amount=amount, currency="")
    return Terms(benefit_kind=kind, free_item="Buy 1 get 1 free")


@given(terms(), orders())
def test_the_discount_is_never_negative_nor_above_the_order(terms, order):
    priced = price(terms, order)

    assert Decimal(0) <= priced.discount <= order.amount
    assert priced.currency == order.currency


@given(terms(), orders())
def test_the_discount_is_in_the_currencys_minor_units(terms, order):
    discount = price(terms, order).discount

    assert discount == discount.quantize(
        Decimal(1).scaleb(-minor_units(order.currency))
    )
    assert -discount.as_tuple().exponent == minor_units(order.currency)


@given(percents, caps, orders())
def test_a_percentage_off_is_never_above_its_cap(percent, cap, order):
    terms = Terms(benefit_kind=Benefit.Kind.PERCENT, percent=percent, max_discount=cap)

    discount = price(terms, order).discount

    if cap is not None:
        assert discount <= cap
    # within half a minor unit of the exact share, below the cap
    exact = order.amount * percent / 100
    half_unit = Decimal(1).scaleb(-minor_units(order.currency)) / 2
    assert discount <= exact + half_unit
    if cap is None or exact <= cap - half_unit:
        assert abs(discount - exact) <= half_unit


@given(percents, caps, st.sampled_from(CURRENCIES), st.data())
def test_a_percentage_off_grows_with_the_order(percent, cap, currency, data):
    terms = Terms(benefit_kind=Benefit.Kind.PERCENT, percent=percent, max_discount=cap)
    smaller = data.draw(orders(currency=currency))
    larger = data.draw(orders(currency=currency))
    assume(smaller.amount <= larger.amount)

    assert price(terms, smaller).discount <= price(terms, larger).discount


@given(money().filter(lambda value: value > 0), orders(currency="HKD"))
def test_an_amount_off_is_the_amount_or_the_whole_order(amount, order):
    terms = Terms(benefit_kind=Benefit.Kind.AMOUNT, amount=amount, currency="HKD")

    assert price(terms, order).discount == min(amount, order.amount)


@given(orders())
def test_a_free_item_takes_no_money_and_names_the_item(order):
    terms = Terms(benefit_kind=Benefit.Kind.FREE_ITEM, free_item="A free coffee")

    priced = price(terms, order)

    assert (priced.discount, priced.free_item) == (0, "A free coffee")


@given(terms(), st.sampled_from(CURRENCIES), orders())
def test_an_order_in_another_currency_is_always_refused(terms, currency, order):
    assume(order.currency != currency)
    terms = Terms(**{**_fields(terms), "currency": currency})

    with pytest.raises(CurrencyMismatch):
        price(terms, order)


@given(terms(), money().filter(lambda value: value > 0), orders(currency="USD"))
def test_an_order_below_the_minimum_is_refused_and_one_at_it_accepted(
    terms, minimum, order
):
    terms = Terms(**{**_fields(terms), "currency": "USD", "min_order_amount": minimum})

    if order.amount < minimum:
        with pytest.raises(OrderBelowMinimum):
            price(terms, order)
    else:
        assert price(terms, order).discount <= order.amount


@given(
    terms(),
    st.lists(st.sampled_from(["shoes", "bags", "hats"]), min_size=1, unique=True),
    orders(),
)
def test_an_order_needs_one_of_the_coupons_categories(terms, categories, order):
    terms = Terms(**{**_fields(terms), "categories": tuple(categories)})

    if set(order.categories) & set(categories):
        price(terms, order)
    else:
        with pytest.raises(CategoryNotEligible):
            price(terms, order)


def _fields(terms: Terms) -> dict:
    return {name: getattr(terms, name) for name in Terms.__slots__}


# --- Worked cases ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "order", "discount"),
    [
        # 15% of 33.33 = 4.9995 → 5.00 (half up)
        (
            Terms(benefit_kind="percent", percent=Decimal(15)),
            Order(Decimal("33.33"), "HKD"),
            "5.00",
        ),
        # 10% of 1000 capped at 50
        (
            Terms(
                benefit_kind="percent", percent=Decimal(10), max_discount=Decimal(50)
            ),
            Order(Decimal(1000), "HKD"),
            "50.00",
        ),
        # 50 off a 30 order: the order, not more
        (
            Terms(benefit_kind="amount", amount=Decimal(50), currency="HKD"),
            Order(Decimal(30), "HKD"),
            "30.00",
        ),
        # yen have no minor unit: 12.5% of 999 = 124.875 → 125
        (
            Terms(benefit_kind="percent", percent=Decimal("12.5")),
            Order(Decimal(999), "JPY"),
            "125",
        ),
        # a cap of 100.50 yen allows 100, never 101
        (
            Terms(
                benefit_kind="percent",
                percent=Decimal(50),
                max_discount=Decimal("100.50"),
            ),
            Order(Decimal(1000), "JPY"),
            "100",
        ),
    ],
)
def test_worked_cases(terms, order, discount):
    assert price(terms, order).discount_text == discount
