"""Reads about vouchers: whose list is whose."""

import datetime as dt

import pytest
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from vouchers.models import Voucher
from vouchers.selectors import voucher_list
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db


def test_an_emails_list_holds_its_usable_vouchers_issued_or_owned_soonest_first():
    now = timezone.now()
    owner = CustomerFactory(email="buyer@example.com")
    later = VoucherFactory(owner=owner, expires_at=now + dt.timedelta(days=9))
    sooner = VoucherFactory(
        owner=None, email="Buyer@Example.com", expires_at=now + dt.timedelta(days=2)
    )
    VoucherFactory(owner=owner, status=Voucher.Status.REDEEMED, used_at=now)
    VoucherFactory(owner=owner, expires_at=now - dt.timedelta(seconds=1))
    VoucherFactory(email="someone-else@example.com")

    listed = voucher_list(email="BUYER@example.com", now=now)

    assert list(listed) == [sooner, later]


def test_a_customers_list_is_their_own_whatever_the_email():
    now = timezone.now()
    customer, other = CustomerFactory(), CustomerFactory(email="other@example.com")
    mine = VoucherFactory(owner=customer)
    VoucherFactory(owner=other)

    assert list(voucher_list(customer=customer, email=other.email, now=now)) == [mine]


def test_a_list_names_whose_it_is():
    with pytest.raises(ValueError):
        voucher_list(now=timezone.now())
