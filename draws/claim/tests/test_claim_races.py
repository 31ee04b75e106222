"""Claims raced by real threads against real Postgres (and Redis, or none)."""

import pytest

from couponsite.errors import DomainError
from couponsite.testing import race
from draws.claim.releases import batch_release
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import (
    assert_pool_invariants,
    claim_campaign,
    first_type,
    make_customers,
)
from draws.models import Claim
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _claimer(campaign, customers):
    """A worker: customer ``i`` claims; the answer is the voucher id or the error code."""

    def claim(i: int):
        try:
            return claim_take(campaign=campaign, customer=customers[i]).voucher_id
        except DomainError as exc:
            return exc.code

    return claim


@pytest.mark.redis
def test_200_customers_racing_for_50_coupons():
    campaign = claim_campaign(released=50)
    customers = make_customers(200)

    answers = race(_claimer(campaign, customers), 200)

    won = [a for a in answers if isinstance(a, int)]
    assert len(won) == 50
    assert len(set(won)) == 50
    assert answers.count("SOLD_OUT") == 150
    held = Voucher.objects.filter(status=Voucher.Status.HELD)
    assert held.count() == 50
    assert held.values("owner").distinct().count() == 50
    assert Claim.objects.count() == 50
    assert not Voucher.objects.filter(status=Voucher.Status.AVAILABLE).exists()
    assert_pool_invariants()


def test_200_customers_racing_for_50_coupons_with_redis_down(redis_down):
    campaign = claim_campaign(released=50)
    customers = make_customers(200)

    answers = race(_claimer(campaign, customers), 200)

    won = [a for a in answers if isinstance(a, int)]
    assert len(won) == len(set(won)) == 50
    assert answers.count("SOLD_OUT") == 150
    assert_pool_invariants()


@pytest.mark.redis
def test_one_customer_racing_itself_gets_one_coupon():
    campaign = claim_campaign(released=20)
    (customer,) = make_customers(1)

    answers = race(_claimer(campaign, [customer] * 20), 20)

    assert len([a for a in answers if isinstance(a, int)]) == 1
    assert answers.count("ALREADY_CLAIMED_TODAY") == 19
    assert Voucher.objects.filter(status=Voucher.Status.HELD).count() == 1
    assert_pool_invariants()


@pytest.mark.redis
@pytest.mark.parametrize("trial", range(3))
def test_claims_racing_a_release_never_leave_coupons_behind_a_sold_out_answer(trial):
    """Claimers that found the pool empty just before a release committed must
    not make later claimers believe it is still empty."""
    campaign = claim_campaign()
    coupon_type = first_type(campaign)
    customers = make_customers(60)
    claim = _claimer(campaign, customers)

    def worker(i: int):
        if i == 0:
            return batch_release(
                acting_user=None, coupon_type=coupon_type, count=20
            ).count
        return claim(i)

    answers = race(worker, 40)

    won = [a for a in answers[1:] if isinstance(a, int)]
    assert set(answers[1:]) - set(won) <= {"SOLD_OUT"}
    assert len(won) == len(set(won)) <= 20
    # Every coupon left is still handed out, then (and only then) SOLD_OUT.
    later = [claim(i) for i in range(40, 60)]
    later_won = [a for a in later if isinstance(a, int)]
    assert len(won) + len(later_won) == 20
    assert later == later_won + ["SOLD_OUT"] * (20 - len(later_won))
    assert Voucher.objects.filter(status=Voucher.Status.HELD).count() == 20
    assert_pool_invariants()
