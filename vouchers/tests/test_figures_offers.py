"""The voucher pool's figures: per offer and in all, issued, redeemed, expired and
outstanding, on the Offer admin's list and change pages."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.tests.dashboard_support import admin_figures
from vouchers.figures import offer_tallies
from vouchers.models import Voucher
from vouchers.tests.factories import OfferFactory, VoucherFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

Status = Voucher.Status


def _pool_voucher(offer, status=Status.ISSUED, expires_in_days=30, **fields):
    now = timezone.now()
    return VoucherFactory(
        offer=offer,
        coupon_type=None,
        campaign=None,
        owner=None,
        email="someone@example.com",
        status=status,
        expires_at=now + dt.timedelta(days=expires_in_days),
        used_at=now if status == Status.REDEEMED else None,
        **fields,
    )


@pytest.fixture
def offers():
    spring, autumn = OfferFactory(name="Spring"), OfferFactory(name="Autumn")
    _pool_voucher(spring)
    _pool_voucher(spring)
    _pool_voucher(spring, status=Status.REDEEMED)
    _pool_voucher(spring, expires_in_days=-1)  # issued but past its date: expired
    _pool_voucher(autumn, status=Status.EXPIRED, expires_in_days=-3)
    _pool_voucher(autumn, status=Status.VOID)
    VoucherFactory()  # a campaign's coupon: not the pool's
    return spring, autumn


def test_each_offer_and_the_pool_count_their_vouchers_by_state(offers):
    spring, autumn = offers

    tallies = offer_tallies(timezone.now())

    assert tallies["per_offer"][spring.pk] == {
        "issued": 4,
        "redeemed": 1,
        "expired": 1,
        "outstanding": 2,
    }
    assert tallies["per_offer"][autumn.pk] == {
        "issued": 2,
        "redeemed": 0,
        "expired": 1,
        "outstanding": 0,
    }
    assert tallies["total"] == {
        "issued": 6,
        "redeemed": 1,
        "expired": 2,
        "outstanding": 2,
    }


def test_the_offer_list_shows_the_pool_and_each_offers_figures(admin_client, offers):
    page = admin_client.get(reverse("admin:vouchers_offer_changelist")).content.decode()

    assert admin_figures(page) == {
        "issued": 6,
        "redeemed": 1,
        "expired": 2,
        "outstanding": 2,
    }
    assert '<td class="field-outstanding">2</td>' in page


def test_the_offer_page_shows_its_own_figures(admin_client, offers):
    spring, _ = offers

    page = admin_client.get(
        reverse("admin:vouchers_offer_change", args=[spring.pk])
    ).content.decode()

    assert admin_figures(page) == {
        "issued": 4,
        "redeemed": 1,
        "expired": 1,
        "outstanding": 2,
    }
