"""A hot coupon type's quota spread over N rows (``campaigns.quotas``), raced by
real threads on real Postgres: never over the quotas, no false "sold out"."""

import datetime as dt
import random
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from campaigns import services
from campaigns.models import CouponType, QuotaShard
from campaigns.quotas import QuotaBelowIssued, quota_issued, quota_take
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.errors import DomainError
from couponsite.models import AuditEntry
from couponsite.testing import RaceCrew, race
from customers.models import Customer
from draws.draw.services import draw_run
from draws.invariants import audit_invariants
from draws.models import Draw
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DAY = dt.date(2026, 11, 30)  # where only the days' order matters


def _sharded(shards: int, **quotas) -> CouponType:
    """A sure-win type spread over ``shards`` rows, as staff would save it."""
    coupon_type = CouponTypeFactory.build(
        campaign=CampaignFactory(), probability=1, quota_shards=shards, **quotas
    )
    return services.coupon_type_save(coupon_type=coupon_type, acting_user=None)


def _respread(coupon_type: CouponType, **fields) -> CouponType:
    coupon_type = CouponType.objects.get(pk=coupon_type.pk)
    for name, value in fields.items():
        setattr(coupon_type, name, value)
    return services.coupon_type_save(coupon_type=coupon_type, acting_user=None)


def _take(coupon_type_id: int, day: dt.date = DAY) -> bool:
    with transaction.atomic():
        return quota_take(coupon_type_id=coupon_type_id, day=day)


def _today(coupon_type: CouponType) -> dt.date:
    """The campaign's local day: the one a spread counts "today" on."""
    return coupon_type.campaign.local_day()


def _shards(coupon_type: CouponType) -> list[QuotaShard]:
    return list(QuotaShard.objects.filter(coupon_type=coupon_type).order_by("slot"))


def _breaches(*codes: str) -> dict[str, int]:
    return {
        result.code: result.breach_count
        for result in audit_invariants()
        if result.code in codes
    }


def test_a_sharded_type_spreads_its_quotas_evenly_and_its_row_keeps_no_count():
    coupon_type = _sharded(8, total_quota=100, daily_quota=20)

    shards = _shards(coupon_type)

    assert [s.slot for s in shards] == list(range(8))
    assert sum(s.total_share for s in shards) == 100
    assert sum(s.daily_share for s in shards) == 20
    assert max(s.total_share for s in shards) - min(s.total_share for s in shards) <= 1
    assert quota_issued([coupon_type.pk])[coupon_type.pk].total == 0


def test_unlimited_quotas_give_unlimited_shares():
    coupon_type = _sharded(4)

    assert {(s.total_share, s.daily_share) for s in _shards(coupon_type)} == {
        (None, None)
    }
    assert all(_take(coupon_type.pk) for _ in range(10))
    assert quota_issued([coupon_type.pk])[coupon_type.pk].total == 10


def test_an_unsharded_take_is_still_one_statement(django_assert_num_queries):
    coupon_type = CouponTypeFactory(total_quota=1)

    with django_assert_num_queries(1):
        assert quota_take(coupon_type_id=coupon_type.pk, day=DAY)


def test_a_take_falls_back_to_the_other_shards_until_every_one_is_spent():
    # given: 8 shards sharing 10 units, taken one by one
    coupon_type = _sharded(8, total_quota=10)

    # when / then: every unit is found, wherever it is, and never an 11th
    assert [_take(coupon_type.pk) for _ in range(12)] == [True] * 10 + [False] * 2
    assert [s.issued_total for s in _shards(coupon_type)] == [
        s.total_share for s in _shards(coupon_type)
    ]


def _draw(campaign, customer):
    try:
        return draw_run(campaign=campaign, customer=customer)
    except DomainError as exc:
        return exc.code


def test_racing_draws_on_eight_shards_win_exactly_the_quota():
    rng = random.Random(20261130)
    customers = Customer.objects.bulk_create(
        Customer(phone=f"+1415666{n:04d}") for n in range(40)
    )
    with RaceCrew(24) as crew:
        for trial in range(30):
            # given: a sure-win type on 8 shards, quotas smaller than the crowd
            total, daily = rng.randint(0, 30), rng.choice([None, rng.randint(0, 30)])
            coupon_type = _sharded(8, total_quota=total, daily_quota=daily)
            racers = rng.randint(2, 40)

            # when
            results = crew.race(
                lambda i, c=coupon_type.campaign: _draw(c, customers[i]), racers
            )

            # then: exactly as many wins as the quotas allow, never more
            expected = min(total, racers, racers if daily is None else daily)
            wins = [r for r in results if isinstance(r, Draw) and r.won]
            assert len(wins) == expected, (trial, total, daily, racers)
            assert quota_issued([coupon_type.pk])[coupon_type.pk].total == expected
            assert Voucher.objects.filter(coupon_type=coupon_type).count() == expected
    assert _breaches("QUOTA_COUNTER_MISMATCH", "QUOTA_SHARES_MISMATCH") == {
        "QUOTA_COUNTER_MISMATCH": 0,
        "QUOTA_SHARES_MISMATCH": 0,
    }


def test_the_daily_quota_holds_on_each_day_across_the_rollover():
    # given: 4 shards sharing 5 a day and 12 in all
    coupon_type = _sharded(4, total_quota=12, daily_quota=5)

    # when: 20 racers take on each of three days
    days = [DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)]
    taken = [sum(race(lambda _, d=day: _take(coupon_type.pk, d), 20)) for day in days]

    # then: 5, 5, then the 2 the total leaves
    assert taken == [5, 5, 2]
    issued = quota_issued([coupon_type.pk])[coupon_type.pk]
    assert (issued.total, issued.on(days[2])) == (12, 2)


def test_a_late_request_never_rolls_a_shard_back_a_day():
    coupon_type = _sharded(2, daily_quota=2)
    assert _take(coupon_type.pk, DAY + dt.timedelta(days=1))
    assert _take(coupon_type.pk, DAY + dt.timedelta(days=1))

    assert not _take(coupon_type.pk, DAY)  # one shard is on tomorrow, one is spent


def test_spreading_again_while_draws_race_keeps_the_quota():
    # given: a type of quota 300, racers taking while staff change N again and again
    coupon_type = _sharded(8, total_quota=300, daily_quota=250)
    today = _today(coupon_type)
    stop = threading.Event()
    spreads = []

    def respread() -> None:
        for shards in [1, 3, 8, 2, 64, 1, 5]:
            _respread(coupon_type, quota_shards=shards)
            spreads.append(shards)
        stop.set()

    def taker(i: int) -> int:
        if i == 0:
            respread()
            return 0
        got = 0
        while not stop.is_set() or got == 0:
            got += _take(coupon_type.pk, today)
            if got >= 40:
                break
        return got

    # when
    taken = sum(race(taker, 12))
    taken += sum(
        race(lambda _: _take(coupon_type.pk, today), 400)
    )  # the rest, and more

    # then: every spread happened, the quota was met exactly, never passed
    assert spreads == [1, 3, 8, 2, 64, 1, 5]
    assert taken == 250  # today's quota is the tighter one
    assert quota_issued([coupon_type.pk])[coupon_type.pk].total == 250
    assert sum(s.issued_total for s in _shards(coupon_type)) == 250
    assert _breaches("QUOTA_SHARES_MISMATCH") == {"QUOTA_SHARES_MISMATCH": 0}


def test_going_back_to_one_row_puts_the_counts_back_on_it():
    coupon_type = _sharded(8, total_quota=10, daily_quota=10)
    for _ in range(7):
        _take(coupon_type.pk, _today(coupon_type))

    _respread(coupon_type, quota_shards=1)

    row = CouponType.objects.get(pk=coupon_type.pk)
    assert (row.issued_total, row.issued_today, _shards(coupon_type)) == (7, 7, [])
    assert [_take(row.pk, row.campaign.local_day()) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]


def test_a_quota_below_what_the_shards_issued_is_refused_and_recorded_nowhere():
    coupon_type = _sharded(4, total_quota=10)
    for _ in range(6):
        _take(coupon_type.pk, _today(coupon_type))
    recorded = AuditEntry.objects.count()

    with pytest.raises(QuotaBelowIssued):
        _respread(coupon_type, total_quota=5)

    assert CouponType.objects.get(pk=coupon_type.pk).total_quota == 10
    assert sum(s.total_share for s in _shards(coupon_type)) == 10
    assert AuditEntry.objects.count() == recorded


def test_changing_the_shards_is_recorded_as_a_quota_change():
    coupon_type = _sharded(1, total_quota=10)

    _respread(coupon_type, quota_shards=8)

    entry = AuditEntry.objects.filter(action="coupon_type.quotas_changed").get()
    assert entry.changes == {"quota_shards": [1, 8]}


def test_a_shard_is_never_over_its_share_in_the_database():
    coupon_type = _sharded(4, total_quota=8)

    with pytest.raises(IntegrityError), transaction.atomic():
        QuotaShard.objects.filter(coupon_type=coupon_type, slot=0).update(
            issued_total=3
        )


def test_the_audit_catches_shards_changed_behind_the_services_back():
    # given: a sharded type with two wins drawn through the service
    coupon_type = _sharded(4, total_quota=8)
    customers = Customer.objects.bulk_create(
        Customer(phone=f"+1415777{n:04d}") for n in range(2)
    )
    for customer in customers:
        assert draw_run(campaign=coupon_type.campaign, customer=customer).won
    assert _breaches("QUOTA_COUNTER_MISMATCH", "QUOTA_SHARES_MISMATCH") == {
        "QUOTA_COUNTER_MISMATCH": 0,
        "QUOTA_SHARES_MISMATCH": 0,
    }

    # when: raw SQL counts a unit no draw won, and grows a share
    table = QuotaShard._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET issued_total = issued_total + 1, "
            "total_share = total_share + 1 WHERE coupon_type_id = %s AND slot = 3",
            [coupon_type.pk],
        )

    # then
    assert _breaches("QUOTA_COUNTER_MISMATCH", "QUOTA_SHARES_MISMATCH") == {
        "QUOTA_COUNTER_MISMATCH": 1,
        "QUOTA_SHARES_MISMATCH": 1,
    }
