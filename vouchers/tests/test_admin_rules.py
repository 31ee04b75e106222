"""The redemption rules in the back office: a fieldset on the offer's page and
the coupon type inline, and read-only on a voucher, with what its redemption
recorded of the order."""

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.tests.factories import CouponTypeFactory
from vouchers.models import Offer
from vouchers.pricing import Order
from vouchers.services import voucher_redeem
from vouchers.tests.factories import OfferFactory, VoucherFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _offer_form(offer: Offer, **fields) -> dict:
    return {
        "name": offer.name,
        "discount": "10",
        "currency": "",
        "code_prefix": "",
        "code_length": "10",
        "created_at_0": offer.created_at.strftime("%Y-%m-%d"),
        "created_at_1": offer.created_at.strftime("%H:%M:%S"),
        "min_order_amount": "",
        "max_discount": "",
        "categories": "",
        "per_customer_limit": "",
        **fields,
    }


def test_the_offer_page_has_the_rules_fieldset_and_saves_them(admin_client):
    offer = OfferFactory()
    page = reverse("admin:vouchers_offer_change", args=[offer.pk])

    shown = admin_client.get(page).content.decode()
    saved = admin_client.post(
        page,
        _offer_form(
            offer,
            currency="hkd",
            min_order_amount="50",
            max_discount="20",
            categories=" Shoes, bags ,shoes,",
            per_customer_limit="2",
        ),
    )

    assert "Redemption rules" in shown and 'name="min_order_amount"' in shown
    assert saved.status_code == 302
    offer.refresh_from_db()
    assert (offer.currency, offer.categories, offer.per_customer_limit) == (
        "HKD",
        "shoes,bags",
        2,
    )


def test_money_rules_without_a_currency_are_refused(admin_client):
    offer = OfferFactory()
    page = reverse("admin:vouchers_offer_change", args=[offer.pk])

    response = admin_client.post(page, _offer_form(offer, min_order_amount="50"))

    assert response.status_code == 200  # the form again, with the error
    assert "Name the currency the order must be in" in response.content.decode()
    offer.refresh_from_db()
    assert offer.min_order_amount is None


def test_the_campaign_page_shows_the_rules_on_each_coupon_type(admin_client):
    coupon_type = CouponTypeFactory(categories="shoes")
    page = reverse("admin:campaigns_campaign_change", args=[coupon_type.campaign_id])

    shown = admin_client.get(page).content.decode()

    assert "Redemption rules" in shown
    assert 'name="coupon_types-0-per_customer_limit"' in shown


def test_a_voucher_shows_its_rules_and_its_order_read_only(admin_client):
    voucher = VoucherFactory(min_order_amount=Decimal(4), categories="shoes")
    voucher_redeem(
        code=voucher.code,
        customer=voucher.owner,
        order=Order(Decimal("12.50"), "USD", ("shoes",)),
    )

    shown = admin_client.get(
        reverse("admin:vouchers_voucher_change", args=[voucher.pk])
    ).content.decode()

    assert "Redemption rules" in shown
    assert 'name="min_order_amount"' not in shown  # read-only
    for value in ("shoes", "12.500", "5.000"):
        assert value in shown


def test_the_voucher_export_says_what_each_redemption_took_off():
    from vouchers.admin.voucher import VoucherAdmin
    from vouchers.models import Voucher

    voucher = VoucherFactory()
    voucher_redeem(
        code=voucher.code, customer=voucher.owner, order=Order(Decimal(3), "USD")
    )

    text = "".join(VoucherAdmin.csv_export.lines(Voucher.objects.all()))
    header, row = text.splitlines()[:2]

    assert header.endswith("order_ref,order_amount,order_currency,discount_granted")
    assert row.endswith(",3.000,USD,3.000")
