"""The draw's quotas and once-a-day rule under real threads on real Postgres."""

import random

import pytest

from campaigns.models import CouponType
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.errors import DomainError
from couponsite.testing import RaceCrew, race
from customers.models import Customer
from draws.draw.services import draw_run
from draws.models import Draw
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 200
MAX_RACERS = 24


def _customers(count: int, offset: int) -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(phone=f"+1415555{offset + n:04d}") for n in range(count)
    )


def _draw(campaign, customer):
    try:
        return draw_run(campaign=campaign, customer=customer)
    except DomainError as exc:
        return exc.code


def test_racing_customers_never_exceed_the_quotas_and_never_lose_while_stock_remains():
    rng = random.Random(20261123)
    with RaceCrew(MAX_RACERS) as crew:
        for trial in range(TRIALS):
            # given: a sure-win type with random daily and total quotas
            daily, total = rng.randint(0, 8), rng.randint(0, 8)
            racers = rng.randint(2, MAX_RACERS)
            coupon_type = CouponTypeFactory(
                campaign=CampaignFactory(
                    timezone=rng.choice(["Asia/Tokyo", "America/Chicago"])
                ),
                probability=1,
                daily_quota=daily,
                total_quota=total,
            )
            customers = _customers(racers, offset=(trial * MAX_RACERS) % 9000)

            # when
            results = crew.race(
                lambda i, c=coupon_type.campaign, people=customers: _draw(c, people[i]),
                racers,
            )

            # then
            wins = [r for r in results if isinstance(r, Draw) and r.won]
            expected = min(daily, total, racers)
            assert len(wins) == expected, (trial, daily, total, racers)
            assert all(isinstance(r, Draw) for r in results)
            coupon_type.refresh_from_db()
            assert coupon_type.issued_total == expected
            assert Voucher.objects.filter(coupon_type=coupon_type).count() == expected
            Draw.objects.filter(campaign=coupon_type.campaign).delete()
            Voucher.objects.filter(coupon_type=coupon_type).delete()
            Customer.objects.filter(pk__in=[c.pk for c in customers]).delete()


def test_one_customer_racing_itself_draws_once():
    coupon_type = CouponTypeFactory(probability=1, daily_quota=100)
    customer = _customers(1, offset=1)[0]

    results = race(lambda _: _draw(coupon_type.campaign, customer), 20)

    assert sum(isinstance(r, Draw) for r in results) == 1
    assert results.count("ALREADY_DRAWN_TODAY") == 19
    assert Draw.objects.filter(customer=customer).count() == 1
    assert CouponType.objects.get(pk=coupon_type.pk).issued_total == 1
