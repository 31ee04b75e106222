"""A repeat claim is ALREADY_CLAIMED_TODAY in every mode, even on an empty pool.

The order of a claim's answers: not running, already claimed today, sold out.
"""

from collections import Counter

import pytest
from django.core.cache import cache

from couponsite.redis_client import get_redis
from couponsite.testing import race
from draws.claim import services as claim_services
from draws.claim.services import AlreadyClaimedToday, SoldOut, claim_take
from draws.claim.tests.claim_helpers import claim_campaign, make_customers
from draws.models import Claim

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _answer(campaign, customer) -> str:
    try:
        claim_take(campaign=campaign, customer=customer)
    except (AlreadyClaimedToday, SoldOut) as exc:
        return exc.code
    return "CLAIMED"


def test_with_redis_down_a_repeat_on_an_empty_pool_is_already_claimed(redis_down):
    # given the last coupon claimed, and Redis down (no "claimed today" mark)
    campaign = claim_campaign(released=1)
    holder, other = make_customers(2)
    claim_take(campaign=campaign, customer=holder)

    # when the holder asks again, then the database answers the repeat first
    with pytest.raises(AlreadyClaimedToday) as repeat:
        claim_take(campaign=campaign, customer=holder)
    with pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=other)

    retry_after = campaign.seconds_to_local_midnight()
    assert abs(repeat.value.retry_after - retry_after) <= 2


@pytest.mark.redis
def test_a_lost_mark_behind_the_sold_out_flag_is_still_already_claimed():
    # given the last coupon claimed, and the pool flagged sold out in Redis
    campaign = claim_campaign(released=1)
    holder, other = make_customers(2)
    claim_take(campaign=campaign, customer=holder)
    assert _answer(campaign, other) == "SOLD_OUT"

    # when the holder's "claimed today" mark is lost (the flag stays)
    cache.clear()
    assert _answer(campaign, other) == "SOLD_OUT"  # flags the pool again
    assert get_redis().exists(claim_services._sold_out_key(campaign.pk))

    # then a repeat is still ALREADY_CLAIMED_TODAY, now and after the mark is back
    assert _answer(campaign, holder) == "ALREADY_CLAIMED_TODAY"
    assert _answer(campaign, holder) == "ALREADY_CLAIMED_TODAY"
    assert _answer(campaign, other) == "SOLD_OUT"


@pytest.mark.parametrize("mode", ["redis", "redis_down"])
def test_racing_claims_then_repeats_each_hear_their_own_answer(request, mode):
    # given 5 coupons and 12 customers
    if mode == "redis_down":
        request.getfixturevalue("redis_down")
    elif get_redis() is None:
        pytest.skip("needs Redis")
    campaign = claim_campaign(released=5)
    people = make_customers(12)

    # when all claim at once, then all ask again at once, with marks forgotten
    first = race(lambda i: _answer(campaign, people[i]), len(people))
    cache.clear()
    again = race(lambda i: _answer(campaign, people[i]), len(people))

    # then the five who claimed hear ALREADY_CLAIMED_TODAY, the others SOLD_OUT
    assert Counter(first) == {"CLAIMED": 5, "SOLD_OUT": 7}
    assert again == [
        "ALREADY_CLAIMED_TODAY" if a == "CLAIMED" else "SOLD_OUT" for a in first
    ]
    assert Claim.objects.count() == 5
