"""draw_run: activity, once a day in the campaign's local day, odds, quotas, SMS."""

import datetime as dt
import hashlib
import math
import zoneinfo
from collections import Counter

import pytest
import time_machine
from django.core.cache import cache

from campaigns.models import Campaign
from campaigns.quotas import quota_take
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from customers.tests.factories import CustomerFactory
from draws.draw.fairness import roll_from_seed
from draws.draw.services import AlreadyDrawnToday, draw_run, pick_coupon_type
from draws.models import Draw
from messaging.tests.support import sms_sent

pytestmark = pytest.mark.django_db(transaction=True)

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def _at(tz, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def test_win_creates_voucher_records_draw_and_texts_after_commit():
    coupon_type = CouponTypeFactory(probability=1, name="$5 Cash Coupon")
    customer = CustomerFactory()

    result = draw_run(campaign=coupon_type.campaign, customer=customer)

    assert result.won and result.voucher.owner == customer
    assert result.voucher.coupon_type == coupon_type
    assert result.voucher.status == "issued"
    assert result.voucher.amount == coupon_type.amount
    assert result.odds == [[coupon_type.pk, 1.0]] or result.odds == [
        (coupon_type.pk, 1.0)
    ]
    [message] = sms_sent()
    assert message.to == customer.phone and "$5 Cash Coupon" in message.body
    from couponsite.codes import display_code

    assert display_code(result.voucher.code) in message.body


def test_loss_creates_no_voucher_and_no_sms():
    coupon_type = CouponTypeFactory(probability="0.5")

    result = draw_run(
        campaign=coupon_type.campaign, customer=CustomerFactory(), roll=0.75
    )

    assert not result.won and result.voucher is None and result.coupon_type_id is None
    assert sms_sent() == []


def test_spent_quota_is_a_loss_and_other_odds_stay():
    campaign = CampaignFactory()
    spent = CouponTypeFactory(campaign=campaign, probability="0.5", total_quota=0)
    other = CouponTypeFactory(campaign=campaign, probability="0.5")

    lost = draw_run(campaign=campaign, customer=CustomerFactory(), roll=0.1)
    won = draw_run(campaign=campaign, customer=CustomerFactory(), roll=0.6)

    assert not lost.won and lost.coupon_type_id == spent.pk  # the roll hit a spent type
    assert won.won and won.voucher.coupon_type_id == other.pk


@pytest.mark.parametrize(
    "change",
    [
        {"status": Campaign.Status.PAUSED},
        {
            "starts_at": dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
            "ends_at": dt.datetime(2099, 2, 1, tzinfo=dt.UTC),
        },
        {
            "starts_at": dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            "ends_at": dt.datetime(2000, 2, 1, tzinfo=dt.UTC),
        },
    ],
)
def test_not_running_campaign_refuses(change):
    coupon_type = CouponTypeFactory(campaign=CampaignFactory(**change))

    with pytest.raises(Exception) as caught:
        draw_run(campaign=coupon_type.campaign, customer=CustomerFactory())

    assert caught.value.code == "NOT_IN_ACTIVE_TIME"
    assert not Draw.objects.exists()


def test_other_kinds_refuse():
    campaign = CampaignFactory(kind=Campaign.Kind.CLAIM)

    with pytest.raises(Exception) as caught:
        draw_run(campaign=campaign, customer=CustomerFactory())

    assert caught.value.code == "WRONG_CAMPAIGN_KIND"


def test_day_turns_over_at_local_midnight_in_the_campaigns_zone():
    campaign = CampaignFactory(
        timezone="Asia/Tokyo",
        starts_at=_at(TOKYO, 2026, 1, 1),
        ends_at=_at(TOKYO, 2027, 1, 1),
    )
    coupon_type = CouponTypeFactory(campaign=campaign, probability=1, daily_quota=1)
    alice, bob = CustomerFactory(), CustomerFactory()

    # 23:59:59 in Tokyo is 14:59:59 UTC: still Tokyo's March 3rd.
    with time_machine.travel(_at(TOKYO, 2026, 3, 3, 23, 59, 59), tick=False):
        first = draw_run(campaign=campaign, customer=alice)
        with pytest.raises(AlreadyDrawnToday) as again:
            draw_run(campaign=campaign, customer=alice)
        bob_same_day = draw_run(campaign=campaign, customer=bob)
    with time_machine.travel(_at(TOKYO, 2026, 3, 4, 0, 0, 0), tick=False):
        next_day = draw_run(campaign=campaign, customer=alice)

    assert first.day == dt.date(2026, 3, 3) and first.won
    assert again.value.retry_after == 1
    assert not bob_same_day.won  # daily quota of 1 spent
    assert next_day.day == dt.date(2026, 3, 4) and next_day.won  # new day, new quota
    coupon_type.refresh_from_db()
    assert (coupon_type.issued_total, coupon_type.issued_today) == (2, 1)


def test_repeat_is_answered_from_the_cache_without_the_database(
    django_assert_num_queries,
):
    coupon_type = CouponTypeFactory(probability=1)
    customer = CustomerFactory()
    draw_run(campaign=coupon_type.campaign, customer=customer)

    with django_assert_num_queries(0), pytest.raises(AlreadyDrawnToday):
        draw_run(campaign=coupon_type.campaign, customer=customer)


def test_database_refuses_repeat_when_the_cache_forgot():
    coupon_type = CouponTypeFactory(probability=1)
    customer = CustomerFactory()
    draw_run(campaign=coupon_type.campaign, customer=customer)
    cache.clear()

    with pytest.raises(AlreadyDrawnToday):
        draw_run(campaign=coupon_type.campaign, customer=customer)
    assert Draw.objects.count() == 1


def test_edited_odds_apply_to_the_next_draw():
    coupon_type = CouponTypeFactory(probability="0.1")
    draw_run(
        campaign=coupon_type.campaign, customer=CustomerFactory(), roll=0.5
    )  # cached

    coupon_type.probability = "0.9"
    coupon_type.save()
    result = draw_run(
        campaign=coupon_type.campaign, customer=CustomerFactory(), roll=0.5
    )

    assert result.won
    assert result.odds[0][1] == 0.9


class TestQuotaTake:
    def test_takes_until_daily_then_rolls_over(self):
        coupon_type = CouponTypeFactory(daily_quota=2, total_quota=3)
        monday, tuesday = dt.date(2026, 3, 2), dt.date(2026, 3, 3)

        taken = [
            quota_take(coupon_type_id=coupon_type.pk, day=monday) for _ in range(3)
        ]
        taken += [
            quota_take(coupon_type_id=coupon_type.pk, day=tuesday) for _ in range(2)
        ]

        assert taken == [True, True, False, True, False]  # total of 3 ends Tuesday

    def test_a_late_request_never_rolls_a_counter_back(self):
        coupon_type = CouponTypeFactory(daily_quota=1)
        assert quota_take(coupon_type_id=coupon_type.pk, day=dt.date(2026, 3, 3))

        assert not quota_take(coupon_type_id=coupon_type.pk, day=dt.date(2026, 3, 2))
        coupon_type.refresh_from_db()
        assert coupon_type.quota_day == dt.date(2026, 3, 3)

    def test_unlimited(self):
        coupon_type = CouponTypeFactory(daily_quota=None, total_quota=None)

        assert all(
            quota_take(coupon_type_id=coupon_type.pk, day=dt.date(2026, 3, 3))
            for _ in range(5)
        )

    def test_zero_daily_quota_never_gives(self):
        coupon_type = CouponTypeFactory(daily_quota=0)

        assert not quota_take(coupon_type_id=coupon_type.pk, day=dt.date(2026, 3, 3))


def _chi_square_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for a chi-square with an odd or even number of degrees of freedom."""
    half = statistic / 2
    if dof % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, dof // 2):
            term *= half / i
            total += term
        return math.exp(-half) * total
    total = math.erfc(math.sqrt(half))
    term = math.sqrt(statistic) * math.exp(-half) * math.sqrt(2 / math.pi)
    for i in range(1, (dof + 1) // 2):
        total += term
        term *= statistic / (2 * i + 1)
    return total


def test_chi_square_helper_matches_known_values():
    assert _chi_square_sf(7.815, 3) == pytest.approx(0.05, abs=1e-3)
    assert _chi_square_sf(9.210, 2) == pytest.approx(0.01, abs=1e-3)


def test_hundred_thousand_seeded_rolls_follow_the_configured_odds():
    # given one day's seed (fixed: the test is deterministic, it cannot flake)
    # and the rolls of 100,000 customers' draws that day
    seed = hashlib.sha256(b"a fixed test seed").digest()
    odds = [(1, 0.05), (2, 0.15), (3, 0.30)]
    expected = {1: 0.05, 2: 0.15, 3: 0.30, None: 0.50}
    samples = 100_000
    day = dt.date(2026, 3, 3)

    counts = Counter(
        pick_coupon_type(
            odds, roll_from_seed(seed, campaign_id=7, day=day, customer_id=customer)
        )
        for customer in range(1, samples + 1)
    )

    # then the outcomes follow the odds (chi-square, 3 degrees of freedom)
    statistic = sum(
        (counts[key] - samples * p) ** 2 / (samples * p) for key, p in expected.items()
    )
    # A biased derivation fails every time; an unbiased one at this fixed seed
    # passes every time (by bad luck it would fail with another seed once in a
    # million).
    assert _chi_square_sf(statistic, dof=3) > 1e-6, (statistic, counts)


def test_seeded_rolls_are_uniform_over_the_unit_interval():
    # given 100,000 rolls of a fixed seed, in 20 equal bins
    seed = hashlib.sha256(b"another fixed test seed").digest()
    samples, bins = 100_000, 20
    rolls = [
        roll_from_seed(seed, campaign_id=3, day=dt.date(2026, 1, 1), customer_id=c)
        for c in range(samples)
    ]

    counts = Counter(int(roll * bins) for roll in rolls)

    assert all(0 <= roll < 1 for roll in rolls)
    expected = samples / bins
    statistic = sum((counts[b] - expected) ** 2 / expected for b in range(bins))
    assert _chi_square_sf(statistic, dof=bins - 1) > 1e-6, (statistic, counts)


def test_picking_is_by_slices_of_the_unit_interval():
    odds = [(1, 0.25), (2, 0.25)]

    assert [
        pick_coupon_type(odds, r) for r in (0.0, 0.2499, 0.25, 0.4999, 0.5, 0.99)
    ] == [1, 1, 2, 2, None, None]
