"""The rush's answers come in one order on every path: window, reservation,
already received, sold out; with Redis, without it, and from a process's memory."""

from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from couponsite.redis_client import get_redis
from couponsite.testing import race
from draws.models import Grab, RushDay
from draws.opening import NotInActiveTime
from draws.rush.services import (
    AlreadyReceived,
    NotReservation,
    RushKeys,
    SoldOut,
    redis_state,
    rush_grab,
    rush_local_state_clear,
    rush_reserve,
    rush_warm,
)
from draws.rush.services.common import FinalDay, local
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    at,
    customers,
    roomy_redis_pool,
    rush_campaign,
)
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_process_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


@pytest.fixture(params=["redis", "redis_down"])
def mode(request, settings):
    """Each test runs with Redis answering and with Redis down."""
    if request.param == "redis_down":
        request.getfixturevalue("redis_down")
    elif get_redis() is None:
        pytest.skip("needs Redis")
    else:
        roomy_redis_pool(settings)
    return request.param


def _answer(campaign, person, now=RUSHING) -> str:
    try:
        rush_grab(campaign=campaign, customer=person, now=now)
    except (NotInActiveTime, NotReservation, AlreadyReceived, SoldOut) as exc:
        return exc.code
    return "WON"


def _sold_out_day(count: int = 10):
    """A rush of ``count`` reserved customers (count/5 coupons) plus two who did
    not reserve; the coupons all grabbed. Returns (campaign, winners, losers,
    outsiders)."""
    campaign = rush_campaign()
    reserved = customers(count)
    outsiders = customers(2, start=500)
    for person in reserved:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    answers = [_answer(campaign, person) for person in reserved]
    winners = [p for p, a in zip(reserved, answers, strict=True) if a == "WON"]
    losers = [p for p, a in zip(reserved, answers, strict=True) if a != "WON"]
    assert len(winners) == count // 5
    assert {a for a in answers if a != "WON"} == {"SOLD_OUT"}
    return campaign, winners, losers, outsiders


def _assert_each_hears_their_answer(campaign, winners, losers, outsiders) -> None:
    for person in outsiders:
        assert _answer(campaign, person) == "NOT_RESERVATION"
    for person in winners:
        assert _answer(campaign, person) == "ALREADY_RECEIVED"
    for person in losers:
        assert _answer(campaign, person) == "SOLD_OUT"
    assert _answer(campaign, outsiders[0], now=at(DAY, "23:01:00")) == (
        "NOT_IN_ACTIVE_TIME"
    )


# --- After the sell-out, on every path ------------------------------------------------


def test_after_the_sell_out_the_process_that_saw_it_answers_in_order(mode):
    # given a day sold out, seen by this process
    campaign, winners, losers, outsiders = _sold_out_day()

    # then someone who did not reserve is NOT_RESERVATION, not SOLD_OUT, and a
    # winner is ALREADY_RECEIVED, asked in any order, again and again
    for _ in range(2):
        _assert_each_hears_their_answer(campaign, winners, losers, outsiders)


def test_after_the_sell_out_a_fresh_process_answers_in_order(mode):
    campaign, winners, losers, outsiders = _sold_out_day()

    for _ in range(2):
        rush_local_state_clear()  # another worker, knowing nothing
        _assert_each_hears_their_answer(campaign, winners, losers, outsiders)


@pytest.mark.redis
def test_after_the_sell_out_redis_losing_its_state_changes_no_answer():
    campaign, winners, losers, outsiders = _sold_out_day()

    get_redis().flushdb()
    rush_local_state_clear()
    _assert_each_hears_their_answer(campaign, winners, losers, outsiders)
    get_redis().flushdb()  # the process remembers; Redis is rebuilt or not needed
    _assert_each_hears_their_answer(campaign, winners, losers, outsiders)


# --- The process's memory of a sold-out day -------------------------------------------


def test_a_sold_out_day_is_answered_from_memory_without_database_or_redis(mode):
    # given a day sold out, seen by this process
    campaign, winners, losers, outsiders = _sold_out_day()
    assert local.final_day(campaign.pk, DAY) == FinalDay(
        reserved=frozenset(p.pk for p in winners + losers),
        received=frozenset(p.pk for p in winners),
    )
    if mode == "redis":
        get_redis().flushdb()  # nothing in Redis to answer from (or to rebuild)

    # when everyone asks again, then no query and no Redis state is needed
    with CaptureQueriesContext(connection) as queries:
        _assert_each_hears_their_answer(campaign, winners, losers, outsiders)

    assert queries.captured_queries == []
    if mode == "redis":
        assert not get_redis().exists(RushKeys(campaign.pk, DAY).ready)


def test_seeing_sold_out_closes_the_days_reservations(redis_down):
    campaign, *_ = _sold_out_day()

    day = RushDay.objects.get(campaign=campaign, day=DAY)

    assert day.reservations_closed_at == RUSHING


def test_inside_a_callers_transaction_the_day_is_learned_after_commit(mode):
    # given a sold-out day this process has not seen
    campaign, _, losers, _ = _sold_out_day()
    rush_local_state_clear()

    # when a grab inside a transaction (an Idempotency-Key's) hears SOLD_OUT
    with transaction.atomic():
        assert _answer(campaign, losers[0]) == "SOLD_OUT"
        assert local.final_day(campaign.pk, DAY) is None

    # then the day is learned once that transaction commits
    assert local.final_day(campaign.pk, DAY) is not None


@pytest.mark.redis
def test_a_coupon_still_in_flight_keeps_the_day_out_of_memory():
    # given the last coupon popped by a request that has not written yet
    campaign = rush_campaign()
    people = customers(6)
    for person in people[:5]:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    rush_warm(campaign=campaign, now=RUSHING)
    popped = redis_state.GRAB_SCRIPT(
        keys=RushKeys(campaign.pk, DAY).grab(),
        args=[people[0].pk, redis_state.ms(RUSHING), 15_000],
        client=get_redis(),
    )
    assert popped[0] == b"OK"

    # when another customer is told SOLD_OUT (the coupon may still come back)
    assert _answer(campaign, people[1]) == "SOLD_OUT"

    # then the day is not final in this process, and later answers stay exact
    assert local.final_day(campaign.pk, DAY) is None
    assert _answer(campaign, people[5]) == "NOT_RESERVATION"
    later = at(DAY, "23:00:30")  # the popped coupon is handed on once stale
    local.final_not_before.clear()
    assert _answer(campaign, people[1], now=later) == "WON"
    assert _answer(campaign, people[2], now=later) == "SOLD_OUT"
    assert local.final_day(campaign.pk, DAY) is not None
    assert _answer(campaign, people[0], now=later) == "SOLD_OUT"
    assert _answer(campaign, people[1], now=later) == "ALREADY_RECEIVED"


def test_a_final_day_answers_in_the_rushs_order():
    final = FinalDay(reserved=frozenset({1, 2}), received=frozenset({1}))

    assert isinstance(final.refusal(1), AlreadyReceived)
    assert isinstance(final.refusal(2), SoldOut)
    assert isinstance(final.refusal(3), NotReservation)


# --- Redis learns of grabs it did not make -------------------------------------------


@pytest.mark.redis
def test_a_grab_made_through_postgres_is_never_told_sold_out_by_redis(settings):
    # given a loaded rush; one customer grabs through Postgres (this process
    # had a Redis error), so Redis still offers that coupon
    roomy_redis_pool(settings)
    campaign = rush_campaign()
    people = customers(10)
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    rush_warm(campaign=campaign, now=RUSHING)
    local.redis_failed()
    first = rush_grab(campaign=campaign, customer=people[0], now=RUSHING)
    assert first.via == Grab.Via.POSTGRES

    # when other processes, through Redis, take the rest
    rush_local_state_clear()
    for person in people[1:]:
        _answer(campaign, person)
        rush_local_state_clear()

    # then the Postgres winner is ALREADY_RECEIVED from Redis, not SOLD_OUT
    assert _answer(campaign, people[0]) == "ALREADY_RECEIVED"
    keys = RushKeys(campaign.pk, DAY)
    assert int(get_redis().hget(keys.received, people[0].pk)) == first.voucher_id
    assert Counter(
        Voucher.objects.filter(campaign=campaign).values_list("status", flat=True)
    ) == {Voucher.Status.ISSUED: 2}


@pytest.mark.redis
def test_while_redis_settles_a_postgres_winners_coupon_they_are_not_sold_out():
    # given one coupon, grabbed through Postgres while Redis still offers it
    campaign = rush_campaign()
    people = customers(5)
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    rush_warm(campaign=campaign, now=RUSHING)
    local.redis_failed()
    winner = rush_grab(campaign=campaign, customer=people[0], now=RUSHING)
    rush_local_state_clear()

    # when another request has popped that coupon and not settled it yet
    popped = redis_state.GRAB_SCRIPT(
        keys=RushKeys(campaign.pk, DAY).grab(),
        args=[people[1].pk, redis_state.ms(RUSHING), 15_000],
        client=get_redis(),
    )
    assert int(popped[1]) == winner.voucher_id

    # then the winner asking meanwhile is ALREADY_RECEIVED, the others SOLD_OUT
    assert _answer(campaign, people[0]) == "ALREADY_RECEIVED"
    assert _answer(campaign, people[2]) == "SOLD_OUT"


@pytest.mark.redis
def test_loading_reads_the_stock_before_the_grabs():
    campaign = rush_campaign()
    for person in customers(5):
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)

    with CaptureQueriesContext(connection) as queries:
        rush_warm(campaign=campaign, now=RUSHING)

    reads = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")
    ]
    stock = next(i for i, sql in enumerate(reads) if 'FROM "vouchers_voucher"' in sql)
    grabs = next(i for i, sql in enumerate(reads) if 'FROM "draws_grab"' in sql)
    assert stock < grabs


# --- Races ---------------------------------------------------------------------------


def test_racing_customers_and_outsiders_each_hear_their_own_answer(mode):
    # given 20 reserved customers (4 coupons) and 10 who did not reserve
    campaign = rush_campaign()
    reserved = customers(20)
    outsiders = customers(10, start=500)
    for person in reserved:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    everyone = reserved + outsiders

    # when all 30 grab at once, twice, and then once more from a fresh process
    first = race(lambda i: _answer(campaign, everyone[i]), len(everyone))
    again = race(lambda i: _answer(campaign, everyone[i]), len(everyone))
    rush_local_state_clear()
    fresh = [_answer(campaign, person) for person in everyone]

    # then outsiders are always NOT_RESERVATION, winners ALREADY_RECEIVED
    assert Counter(first[:20]) == {"WON": 4, "SOLD_OUT": 16}
    assert first[20:] == ["NOT_RESERVATION"] * 10
    expected = [
        {"WON": "ALREADY_RECEIVED", "SOLD_OUT": "SOLD_OUT"}.get(a, a) for a in first
    ]
    assert again == expected
    assert fresh == expected
    assert Grab.objects.filter(campaign=campaign).count() == 4


def test_a_customer_racing_itself_for_the_last_coupon_is_never_sold_out(mode):
    # given one coupon, and its would-be winner pressing "grab" ten times at once
    campaign = rush_campaign()
    people = customers(5)
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)

    answers = race(lambda _: _answer(campaign, people[0]), 10)

    assert Counter(answers) == {"WON": 1, "ALREADY_RECEIVED": 9}
