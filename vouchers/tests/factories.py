import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from campaigns.tests.factories import CouponTypeFactory
from couponsite.codes import generate_code
from customers.tests.factories import CustomerFactory
from vouchers.models import Offer, Voucher


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    name = factory.Sequence(lambda n: f"Offer {n}")
    discount = Decimal("22.10")


class VoucherFactory(factory.django.DjangoModelFactory):
    """An issued campaign coupon owned by a customer."""

    class Meta:
        model = Voucher

    code = factory.LazyFunction(generate_code)
    status = Voucher.Status.ISSUED
    coupon_type = factory.SubFactory(CouponTypeFactory)
    campaign = factory.LazyAttribute(lambda v: v.coupon_type.campaign)
    owner = factory.SubFactory(CustomerFactory)
    benefit_kind = Voucher.Kind.AMOUNT
    amount = Decimal(5)
    currency = "USD"
    issued_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))
