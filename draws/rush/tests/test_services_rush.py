"""The rush services against real Postgres and Redis: numbers, coupons, grabs, healing."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign
from couponsite.redis_client import get_redis
from couponsite.testing import race
from draws.models import Grab, Reservation, RushDay
from draws.opening import NotInActiveTime, WrongCampaignKind
from draws.rush.services import (
    AlreadyReceived,
    DuplicatedReservation,
    NotReservation,
    ReservationsStillOpen,
    RushKeys,
    SoldOut,
    common,
    coupons_for,
    ratio_per_10000,
    redis_state,
    reserve,
    rush_grab,
    rush_local_state_clear,
    rush_reserve,
    rush_warm,
)
from draws.rush.services import grab as grabbing
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    at,
    customers,
    in_batches,
    roomy_redis_pool,
    rush_campaign,
)
from vouchers.models import Voucher


@pytest.fixture(autouse=True)
def _fresh_process_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


@pytest.fixture
def threads_redis(settings):
    roomy_redis_pool(settings)


def _outcome(call) -> str:
    try:
        call()
    except (SoldOut, AlreadyReceived, NotReservation) as exc:
        return exc.code
    return "WON"


def _reserve_all(campaign, people, now=RESERVING) -> None:
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=now)


def _day_coupons(campaign) -> Counter:
    return Counter(
        Voucher.objects.filter(campaign=campaign).values_list("status", flat=True)
    )


# --- Coupon arithmetic ------------------------------------------------------------------

ratios = st.integers(min_value=0, max_value=10000).map(
    lambda n: (Decimal(n) / 10000).quantize(Decimal("0.0001"))
)


@given(reservations=st.integers(min_value=0, max_value=100_000), ratio=ratios)
def test_coupons_are_the_floor_of_reservations_times_ratio(reservations, ratio):
    per_10000 = ratio_per_10000(ratio)

    coupons = coupons_for(reservations, per_10000)

    assert coupons == int(reservations * ratio)  # Decimal: exact, truncates = floor
    assert 0 <= coupons <= reservations
    if reservations:
        # Made one at a time as reservations arrive, never two at once.
        assert coupons - coupons_for(reservations - 1, per_10000) in (0, 1)


@given(reservations=st.integers(min_value=0, max_value=100_000))
def test_at_the_default_ratio_every_fifth_reservation_makes_a_coupon(reservations):
    per_10000 = ratio_per_10000(Decimal("0.2"))

    made = [
        n
        for n in range(max(1, reservations - 20), reservations + 1)
        if n and coupons_for(n, per_10000) > coupons_for(n - 1, per_10000)
    ]

    assert coupons_for(reservations, per_10000) == reservations // 5
    assert all(n % 5 == 0 for n in made)


@pytest.mark.postgres
@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(reservations=st.integers(min_value=1, max_value=100_000), ratio=ratios)
def test_the_database_counts_coupons_like_python(reservations, ratio):
    # given a day with one reservation fewer, its coupons right
    campaign = Campaign.objects.filter(kind=Campaign.Kind.RUSH).first()
    campaign = campaign or rush_campaign()
    RushDay.objects.filter(campaign=campaign).delete()
    per_10000 = ratio_per_10000(ratio)
    release = campaign.coupon_types.get().releases.create(count=0)
    RushDay.objects.create(
        campaign=campaign,
        day=DAY,
        release=release,
        coupons_per_10000=per_10000,
        reservations=reservations - 1,
        coupons=coupons_for(reservations - 1, per_10000),
    )

    # when the counter row takes one more reservation
    with transaction.atomic():
        _, _, number, _ = reserve._count_reservation(campaign.pk, DAY)
    row = RushDay.objects.get(campaign=campaign, day=DAY)

    # then Postgres's integer arithmetic agrees with floor(n * ratio)
    assert number == reservations
    assert row.coupons == int(reservations * ratio)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_coupons_out_of_step_with_reservations():
    campaign = rush_campaign()
    rush_reserve(campaign=campaign, customer=customers(1)[0], now=RESERVING)

    with pytest.raises(IntegrityError), transaction.atomic():
        RushDay.objects.filter(campaign=campaign).update(coupons=1)


# --- Reserve ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reservations_are_numbered_and_every_fifth_makes_a_coupon():
    campaign = rush_campaign()
    people = customers(11)

    numbers = [
        rush_reserve(campaign=campaign, customer=person, now=RESERVING).number
        for person in people
    ]

    assert numbers == list(range(1, 12))
    day = RushDay.objects.get(campaign=campaign, day=DAY)
    assert (day.reservations, day.coupons, day.coupons_per_10000) == (11, 2, 2000)
    assert day.release.count == 2
    assert _day_coupons(campaign) == {Voucher.Status.AVAILABLE: 2}
    coupon = Voucher.objects.filter(campaign=campaign).first()
    assert coupon.owner is None and coupon.release_id == day.release_id
    assert coupon.benefit_text == "US$10.00 off"


@pytest.mark.django_db
@pytest.mark.parametrize("clock", ["22:54:59.999", "23:00:00", "23:00:30", "12:00:00"])
def test_reserving_outside_the_window_is_not_in_active_time(clock):
    campaign = rush_campaign()

    with pytest.raises(NotInActiveTime):
        rush_reserve(campaign=campaign, customer=customers(1)[0], now=at(DAY, clock))


@pytest.mark.django_db
def test_reserving_twice_a_day_is_refused_but_the_next_day_is_new():
    campaign = rush_campaign()
    person, other = customers(2)
    rush_reserve(campaign=campaign, customer=person, now=RESERVING)

    with pytest.raises(DuplicatedReservation):
        rush_reserve(campaign=campaign, customer=person, now=at(DAY, "22:59:59"))
    second = rush_reserve(campaign=campaign, customer=other, now=RESERVING)
    tomorrow = rush_reserve(
        campaign=campaign,
        customer=person,
        now=at(DAY + dt.timedelta(days=1), "22:55:00"),
    )

    assert second.number == 2  # the refused one used no number
    assert (tomorrow.day, tomorrow.number) == (DAY + dt.timedelta(days=1), 1)


@pytest.mark.django_db
def test_other_kinds_and_stopped_campaigns_take_no_reservations():
    draw = rush_campaign(kind=Campaign.Kind.DRAW)
    paused = rush_campaign(status=Campaign.Status.PAUSED)
    person = customers(1)[0]

    with pytest.raises(WrongCampaignKind):
        rush_reserve(campaign=draw, customer=person, now=RESERVING)
    with pytest.raises(NotInActiveTime):
        rush_reserve(campaign=paused, customer=person, now=RESERVING)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_customer_racing_itself_reserves_once():
    campaign = rush_campaign()
    person = customers(1)[0]

    outcomes = race(
        lambda _: _outcome_reserve(campaign, person),
        40,
    )

    assert Counter(outcomes) == {"RESERVED": 1, "ERROR_DUPLICATED_RESERVATION": 39}
    assert Reservation.objects.get(campaign=campaign).number == 1
    assert RushDay.objects.get(campaign=campaign).reservations == 1


def _outcome_reserve(campaign, person) -> str:
    try:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    except DuplicatedReservation as exc:
        return exc.code
    return "RESERVED"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_reservations_get_gap_free_numbers_and_their_coupons():
    # given 120 customers, each sending two reservations at once
    campaign = rush_campaign()
    people = customers(120)
    requests = [person for person in people for _ in range(2)]

    # when they race, 150 threads at a time, the first day's row made by the race
    outcomes = []
    for batch in in_batches(requests):
        outcomes += race(
            lambda i, b=batch: _outcome_reserve(campaign, b[i]), len(batch)
        )

    # then one reservation each, numbered 1..120 without a gap, 24 coupons
    assert Counter(outcomes) == {"RESERVED": 120, "ERROR_DUPLICATED_RESERVATION": 120}
    numbers = sorted(
        Reservation.objects.filter(campaign=campaign).values_list("number", flat=True)
    )
    assert numbers == list(range(1, 121))
    day = RushDay.objects.get(campaign=campaign)
    assert (day.reservations, day.coupons) == (120, 24)
    assert _day_coupons(campaign) == {Voucher.Status.AVAILABLE: 24}


# --- Grab ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_reserved_customer_grabs_once_and_others_may_not():
    campaign = rush_campaign()
    people = customers(6)
    _reserve_all(campaign, people[:5])

    grab = rush_grab(campaign=campaign, customer=people[0], now=RUSHING)

    assert grab.via == Grab.Via.REDIS and grab.day == DAY
    voucher = Voucher.objects.get(pk=grab.voucher_id)
    assert voucher.status == Voucher.Status.ISSUED
    assert voucher.owner == people[0]
    assert voucher.issued_at == RUSHING
    assert voucher.expires_at == RUSHING + dt.timedelta(days=7)
    with pytest.raises(AlreadyReceived):
        rush_grab(campaign=campaign, customer=people[0], now=RUSHING)
    with pytest.raises(SoldOut):
        rush_grab(campaign=campaign, customer=people[1], now=RUSHING)
    with pytest.raises(NotReservation):  # not reserved comes before sold out
        rush_grab(campaign=campaign, customer=people[5], now=RUSHING)


@pytest.mark.django_db
@pytest.mark.parametrize("clock", ["22:59:59.999", "23:01:00", "03:00:00"])
def test_grabbing_outside_the_rush_is_not_in_active_time(clock):
    campaign = rush_campaign()
    person = customers(1)[0]
    rush_reserve(campaign=campaign, customer=person, now=RESERVING)

    with pytest.raises(NotInActiveTime):
        rush_grab(campaign=campaign, customer=person, now=at(DAY, clock))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_answers_are_the_same_from_redis_after_the_process_forgets():
    campaign = rush_campaign()
    people = customers(5)
    _reserve_all(campaign, people)
    rush_grab(campaign=campaign, customer=people[0], now=RUSHING)

    rush_local_state_clear()  # another process: only Redis knows
    with pytest.raises(AlreadyReceived):
        rush_grab(campaign=campaign, customer=people[0], now=RUSHING)
    with pytest.raises(SoldOut):
        rush_grab(campaign=campaign, customer=people[1], now=RUSHING)

    get_redis().flushdb()  # Redis lost it all: rebuilt from Postgres
    rush_local_state_clear()
    with pytest.raises(AlreadyReceived):
        rush_grab(campaign=campaign, customer=people[0], now=RUSHING)
    with pytest.raises(SoldOut):
        rush_grab(campaign=campaign, customer=people[1], now=RUSHING)
    assert Grab.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_coupon_whose_write_fails_goes_back_to_the_stock():
    # given a rush with two coupons, one already grabbed
    campaign = rush_campaign()
    people = customers(10)
    _reserve_all(campaign, people)
    winner = rush_grab(campaign=campaign, customer=people[0], now=RUSHING)
    keys = RushKeys(campaign.pk, DAY)
    redis = get_redis()

    # when Redis forgets the winner, who grabs again: Postgres refuses the write
    redis.hdel(keys.received, people[0].pk)
    rush_local_state_clear()
    with pytest.raises(AlreadyReceived):
        rush_grab(campaign=campaign, customer=people[0], now=RUSHING)

    # then the coupon popped for that write is back, and goes to the next customer
    assert redis.llen(keys.stock) == 1
    assert redis.zcard(keys.pending) == 0
    assert int(redis.hget(keys.received, people[0].pk)) == winner.voucher_id
    second = rush_grab(campaign=campaign, customer=people[1], now=RUSHING)
    assert second.voucher_id != winner.voucher_id
    assert _day_coupons(campaign) == {Voucher.Status.ISSUED: 2}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_coupon_popped_by_a_request_that_died_is_handed_on():
    # given one coupon, popped by a request that died before writing to Postgres
    campaign = rush_campaign()
    people = customers(5)
    _reserve_all(campaign, people)
    rush_warm(campaign=campaign, now=RUSHING)
    keys = RushKeys(campaign.pk, DAY)
    popped = redis_state.GRAB_SCRIPT(
        keys=keys.grab(),
        args=[
            people[0].pk,
            redis_state.ms(RUSHING),
            common.STALE_PENDING_SECONDS * 1000,
        ],
        client=get_redis(),
    )
    assert popped[0] == b"OK"

    # when others ask at once it is in flight; once stale it is handed on
    with pytest.raises(SoldOut):
        rush_grab(campaign=campaign, customer=people[1], now=RUSHING)
    rush_local_state_clear()
    later = RUSHING + dt.timedelta(seconds=common.STALE_PENDING_SECONDS + 1)
    grab = rush_grab(campaign=campaign, customer=people[1], now=later)

    # then exactly the one coupon is out, to the customer who got an answer
    assert grab.voucher_id == int(popped[1])
    rush_local_state_clear()
    with pytest.raises(SoldOut):
        rush_grab(campaign=campaign, customer=people[0], now=later)
    assert _day_coupons(campaign) == {Voucher.Status.ISSUED: 1}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_warming_waits_for_reservations_to_close_and_keeps_a_loaded_day():
    campaign = rush_campaign()
    _reserve_all(campaign, customers(12))

    with pytest.raises(ReservationsStillOpen):
        rush_warm(campaign=campaign, now=RESERVING)
    first = rush_warm(campaign=campaign, now=at(DAY, "23:00:00"))
    again = rush_warm(campaign=campaign, now=RUSHING)
    replaced = rush_warm(campaign=campaign, now=RUSHING, replace=True)

    assert (first.reserved, first.received, first.stock, first.installed) == (
        12,
        0,
        2,
        True,
    )
    assert not again.installed
    assert replaced.installed
    keys = RushKeys(campaign.pk, DAY)
    assert get_redis().ttl(keys.stock) > 0


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_reservation_still_committing_when_the_rush_loads_is_refused():
    # given a reservation that passed the window check at 22:59:59.5 ...
    campaign = rush_campaign()
    _reserve_all(campaign, customers(5))
    late = customers(1, start=100)[0]

    # ... but reaches the counter after the rush state was loaded
    rush_warm(campaign=campaign, now=at(DAY, "23:00:00"))
    with pytest.raises(NotInActiveTime):
        rush_reserve(campaign=campaign, customer=late, now=at(DAY, "22:59:59.5"))

    # then what Redis loaded is what Postgres holds
    day = RushDay.objects.get(campaign=campaign)
    assert (day.reservations, day.coupons) == (5, 1)
    assert day.reservations_closed_at == at(DAY, "23:00:00")
    with pytest.raises(NotReservation):
        rush_grab(campaign=campaign, customer=late, now=RUSHING)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_warm_rush_command_loads_running_rushes(capsys):
    import time_machine

    campaign = rush_campaign(slug="tonight")
    _reserve_all(campaign, customers(5))

    with time_machine.travel(RUSHING, tick=False):
        call_command("warm_rush")
        call_command("warm_rush", "--campaign", "tonight")

    out = capsys.readouterr().out
    assert f"tonight {DAY}: loaded (5 reservations, 0 grabs, 1 coupons free)" in out
    assert "already loaded, kept" in out


# --- Exactness under load ------------------------------------------------------------------


def _rush_race(campaign, people, *, between_batches=None, during=None) -> Counter:
    """Every customer grabs, then everyone grabs again, 150 threads at a time."""
    outcomes: Counter = Counter()
    asks = people + people
    for number, batch in enumerate(in_batches(asks)):

        def grab(i, batch=batch, number=number):
            if during and number == 0 and i == len(batch) // 2:
                during()
            return _outcome(
                lambda: rush_grab(campaign=campaign, customer=batch[i], now=RUSHING)
            )

        outcomes.update(race(grab, len(batch)))
        if between_batches:
            between_batches(number)
    return outcomes


def _assert_exactly(campaign, outcomes: Counter, winners: int) -> None:
    assert outcomes["WON"] == winners
    assert set(outcomes) <= {"WON", "SOLD_OUT", "ALREADY_RECEIVED"}
    grabs = Grab.objects.filter(campaign=campaign)
    assert grabs.count() == winners
    assert grabs.values("customer").distinct().count() == winners
    assert _day_coupons(campaign) == {Voucher.Status.ISSUED: winners}
    assert not Voucher.objects.filter(
        campaign=campaign, status=Voucher.Status.ISSUED, grab__isnull=True
    ).exists()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_300_racing_grabs_hand_out_exactly_the_60_coupons(threads_redis):
    campaign = rush_campaign()
    people = customers(300)
    _reserve_all(campaign, people)
    rush_warm(campaign=campaign, now=RUSHING)  # manage.py warm_rush at 23:00

    outcomes = _rush_race(campaign, people)

    _assert_exactly(campaign, outcomes, 60)
    assert set(Grab.objects.values_list("via", flat=True)) == {"redis"}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_racing_grabs_stay_exact_when_redis_is_flushed_mid_rush(threads_redis):
    campaign = rush_campaign()
    people = customers(300)
    _reserve_all(campaign, people)

    def flush():
        get_redis().flushdb()
        rush_local_state_clear()

    outcomes = _rush_race(campaign, people, during=flush)

    _assert_exactly(campaign, outcomes, 60)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_grabs_stay_exact_through_postgres_when_redis_is_down(redis_down):
    campaign = rush_campaign()
    people = customers(300)
    _reserve_all(campaign, people)

    outcomes = _rush_race(campaign, people)

    _assert_exactly(campaign, outcomes, 60)
    assert set(Grab.objects.values_list("via", flat=True)) == {"postgres"}


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_pool_pick_keeps_order_by_and_skip_locked():
    campaign = rush_campaign()
    _reserve_all(campaign, customers(10))
    day = RushDay.objects.get(campaign=campaign)

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        picked = grabbing._pool_pick(
            coupon_type_id=campaign.coupon_types.get().pk, release_id=day.release_id
        )

    assert picked is not None
    pick = next(q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"])
    assert "ORDER BY" in pick and "SKIP LOCKED" in pick
