"""First draws committed in groups against real Postgres: draw_run's rules for a
batch (once a day, quotas never exceeded, the day rolled over at local midnight),
each answer its own row and its serializer's bytes, failures kept to themselves,
nothing answered before COMMIT.

Each test runs a committer in an event loop of its own (``asyncio.run``); the ORM
sets up and checks from the test's thread, outside any loop.
"""

import asyncio
import datetime as dt
import threading
from decimal import Decimal

import psycopg
import pytest
from django.db import connections
from rest_framework.renderers import JSONRenderer

from campaigns.models import CouponType, QuotaShard
from campaigns.quotas import quota_issued, quotas_open_day
from campaigns.services import coupon_type_save
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.codes import generate_codes
from couponsite.group_commit import GroupCommitFailed, GroupCommitter, connection_params
from customers.tests.factories import CustomerFactory
from draws.draw import group_commit
from draws.draw.group_commit import writes
from draws.draw.models import Draw
from draws.draw.serializers import DrawSerializer
from draws.draw.services import AlreadyDrawnToday, draw_run
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOBODY = 10**12  # a customer id that does not exist
# 23:50 in Los Angeles (07:50 UTC the next day): ten minutes to local midnight.
LATE = dt.datetime(2026, 4, 25, 6, 50, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 24)


def _campaign(**fields):
    return CampaignFactory(
        timezone="America/Los_Angeles",
        starts_at=LATE - dt.timedelta(days=3),
        ends_at=LATE + dt.timedelta(days=3),
        **fields,
    )


def _run(work, **options):
    """``await work(committer)`` on a fresh loop and committer; closed afterwards."""

    async def main():
        committer = GroupCommitter(**options)
        try:
            return await work(committer)
        finally:
            await committer.aclose()

    return asyncio.run(main())


def _submit(committer, campaign, customer_id, *, picked=None, now=LATE, day=DAY):
    return group_commit.draw_submit(
        committer,
        campaign_id=campaign.pk,
        day=day,
        customer_id=customer_id,
        roll=0.25,
        coupon_type_id=picked,
        odds=[[picked, 0.5]] if picked else [],
        retry_after=600.0,
        now=now,
    )


def _draw_all(campaign, customer_ids, *, picked=None, now=LATE, day=DAY, **options):
    """Every customer's first draw, all queued at once: one batch."""

    async def work(committer):
        answers = await asyncio.gather(
            *(
                _submit(committer, campaign, c, picked=picked, now=now, day=day)
                for c in customer_ids
            ),
            return_exceptions=True,
        )
        return answers, vars(committer.stats).copy()

    return _run(work, **options)


def _rendered(draw: Draw) -> bytes:
    return JSONRenderer().render(DrawSerializer(draw).data)


def test_a_batch_draws_each_customer_once_with_their_own_row():
    campaign = _campaign()
    people = CustomerFactory.create_batch(20)

    answers, stats = _draw_all(campaign, [p.pk for p in people])

    assert stats["transactions"] == 1 and stats["largest_batch"] == 20
    draws = {d.customer_id: d for d in Draw.objects.filter(campaign=campaign)}
    assert len(draws) == 20
    for person, answer in zip(people, answers, strict=True):
        draw = draws[person.pk]
        assert (answer.id, answer.customer_id, answer.won) == (draw.pk, person.pk, 0)
        assert (draw.day, draw.created_at, draw.roll) == (DAY, LATE, 0.25)
        assert answer.body == _rendered(draw)


def test_repeats_in_a_batch_and_across_batches_and_paths_are_refused():
    campaign = _campaign()
    twice, django_first, fresh = CustomerFactory.create_batch(3)
    draw_run(campaign=campaign, customer=django_first, now=LATE)

    answers, _ = _draw_all(campaign, [twice.pk, django_first.pk, twice.pk, fresh.pk])
    again, _ = _draw_all(campaign, [fresh.pk])

    first, refused, repeat, drawn = answers
    assert first.customer_id == twice.pk and drawn.customer_id == fresh.pk
    for refusal in (refused, repeat, again[0]):
        assert isinstance(refusal, AlreadyDrawnToday)
        assert refusal.retry_after == 600.0
    assert Draw.objects.filter(campaign=campaign).count() == 3


def test_quotas_are_never_exceeded_and_turn_over_at_local_midnight():
    # given a prize with 3 a day and 5 in all, in Los Angeles
    campaign = _campaign()
    prize = CouponTypeFactory(campaign=campaign, daily_quota=3, total_quota=5)
    people = CustomerFactory.create_batch(20)
    after_midnight = LATE + dt.timedelta(minutes=20)
    next_day = campaign.local_day(after_midnight)
    assert campaign.local_day(LATE) == DAY and next_day == DAY + dt.timedelta(days=1)
    assert after_midnight.date() == LATE.date()  # the same day in UTC

    # when ten roll the prize before midnight, five more in a later batch,
    # then five after midnight
    today, _ = _draw_all(campaign, [p.pk for p in people[:10]], picked=prize.pk)
    later, _ = _draw_all(campaign, [p.pk for p in people[10:15]], picked=prize.pk)
    tomorrow, _ = _draw_all(
        campaign,
        [p.pk for p in people[15:]],
        picked=prize.pk,
        now=after_midnight,
        day=next_day,
    )

    # then the batch's first three win, nobody else that day, two the next
    assert [a.won for a in today] == [True] * 3 + [False] * 7
    assert not any(a.won for a in later)
    assert [a.won for a in tomorrow] == [True] * 2 + [False] * 3
    prize.refresh_from_db()
    assert (prize.issued_total, prize.issued_today, prize.quota_day) == (5, 2, next_day)
    assert Voucher.objects.filter(coupon_type=prize).count() == 5
    assert Draw.objects.filter(won=True).count() == 5
    # a loss keeps the type the roll landed on, as draw_run's do
    assert Draw.objects.filter(won=False, coupon_type=prize).count() == 15
    for answer in today + later + tomorrow:
        assert answer.body == _rendered(Draw.objects.get(pk=answer.id))


def test_a_day_already_turned_over_is_never_rolled_back():
    campaign = _campaign()
    prize = CouponTypeFactory(campaign=campaign, daily_quota=3)
    CouponType.objects.filter(pk=prize.pk).update(
        quota_day=DAY + dt.timedelta(days=1), issued_today=0
    )

    answers, _ = _draw_all(
        campaign, [c.pk for c in CustomerFactory.create_batch(2)], picked=prize.pk
    )

    assert not any(answer.won for answer in answers)
    prize.refresh_from_db()
    assert (prize.issued_total, prize.quota_day) == (0, DAY + dt.timedelta(days=1))


def test_a_roll_on_a_spent_prize_loses_and_the_others_still_win():
    campaign = _campaign()
    spent = CouponTypeFactory(campaign=campaign, total_quota=0)
    open_ = CouponTypeFactory(campaign=campaign, daily_quota=10)
    people = CustomerFactory.create_batch(6)

    async def work(committer):
        return await asyncio.gather(
            *(
                _submit(committer, campaign, p.pk, picked=(spent, open_)[i % 2].pk)
                for i, p in enumerate(people)
            )
        )

    answers = _run(work)

    assert [a.won for a in answers] == [False, True] * 3
    assert Voucher.objects.filter(coupon_type=open_).count() == 3
    assert not Voucher.objects.filter(coupon_type=spent).exists()


@pytest.mark.parametrize(
    "prize",
    [
        {"benefit_kind": "amount", "amount": Decimal("10.5"), "currency": "EUR"},
        {"benefit_kind": "percent", "percent": Decimal("12.5"), "valid_days": 2},
        {"benefit_kind": "free_item", "free_item": "Un café « offert »"},
        {"percent": Decimal(20), "valid_until": LATE + dt.timedelta(hours=5)},
        {"percent": Decimal(20), "valid_days": 3650},  # still valid: redeem_by
        {  # with redemption rules: the coupon copies them
            "percent": Decimal(20),
            "currency": "HKD",
            "min_order_amount": Decimal(50),
            "max_discount": Decimal(10),
            "categories": "shoes,bags",
            "per_customer_limit": 2,
        },
    ],
)
def test_a_win_is_written_and_answered_as_draw_run_and_its_serializer_do(prize):
    # given the same prize won once on each path
    campaign = _campaign()
    fields = {"benefit_kind": "percent", "amount": None, "currency": ""} | prize
    coupon_type = CouponTypeFactory(
        campaign=campaign,
        probability=Decimal("0.123456"),
        code_prefix="XY",
        category="coffee",
        **fields,
    )
    thin_winner = CustomerFactory(email="winner@example.com")
    django_winner = CustomerFactory()
    django_draw = draw_run(
        campaign=campaign, customer=django_winner, now=LATE, roll=0.1
    )

    # when
    (answer,), _ = _draw_all(campaign, [thin_winner.pk], picked=coupon_type.pk)

    # then the rows are draw_run's, and the body its own row's, byte for byte
    draw = Draw.objects.select_related("voucher").get(pk=answer.id)
    assert answer.body == _rendered(draw)
    assert draw.won and answer.won and answer.coupon.code == draw.voucher.code
    assert answer.phone == thin_winner.phone
    ignored = {"id", "code", "owner_id", "email", "created_at"}
    django_voucher = Voucher.objects.filter(pk=django_draw.voucher_id).values()[0]
    thin_voucher = Voucher.objects.filter(pk=draw.voucher_id).values()[0]
    assert {k: v for k, v in thin_voucher.items() if k not in ignored} == {
        k: v for k, v in django_voucher.items() if k not in ignored
    }
    assert thin_voucher["code"].startswith("XY")
    assert thin_voucher["categories"] == coupon_type.categories
    assert thin_voucher["per_customer_limit"] == coupon_type.per_customer_limit
    assert thin_voucher["email"] == "winner@example.com"
    assert thin_voucher["issued_at"] == LATE
    assert draw.voucher.expires_at == coupon_type.expiry_from(LATE)


def test_a_request_that_cannot_be_written_fails_alone():
    campaign = _campaign()
    prize = CouponTypeFactory(campaign=campaign, daily_quota=2)
    people = CustomerFactory.create_batch(3)

    answers, stats = _draw_all(
        campaign, [people[0].pk, NOBODY, people[1].pk, people[2].pk], picked=prize.pk
    )

    assert isinstance(answers[1], GroupCommitFailed)
    assert not answers[1].outcome_unknown
    assert [answers[i].won for i in (0, 2, 3)] == [True, True, False]
    assert stats["retried_alone"] == 4 and stats["failed"] == 1
    prize.refresh_from_db()
    assert prize.issued_total == 2  # the failed batch took nothing


def test_a_coupon_code_that_collides_fails_the_group_and_each_is_written_again(
    monkeypatch,
):
    campaign = _campaign()
    prize = CouponTypeFactory(campaign=campaign)
    taken = draw_run(
        campaign=campaign, customer=CustomerFactory(), now=LATE, roll=0.1
    ).voucher.code
    calls = []

    def codes(count, **kwargs):
        calls.append(count)
        fresh = generate_codes(count, **kwargs)
        return [taken, *fresh[1:]] if len(calls) == 1 else fresh

    monkeypatch.setattr(writes, "generate_codes", codes)
    people = CustomerFactory.create_batch(3)

    answers, stats = _draw_all(campaign, [p.pk for p in people], picked=prize.pk)

    assert all(answer.won for answer in answers)
    assert stats["retried_alone"] == 3 and stats["failed"] == 0
    assert Voucher.objects.filter(coupon_type=prize).count() == 4


def test_no_draw_is_answered_before_it_is_committed():
    # given a prize row another transaction holds: the batch inserts its draws,
    # then waits for the row, uncommitted
    campaign = _campaign()
    prize = CouponTypeFactory(campaign=campaign)
    people = CustomerFactory.create_batch(4)
    holder = psycopg.connect(**connection_params(), autocommit=True)
    onlooker = psycopg.connect(**connection_params(), autocommit=True)
    holder.execute("BEGIN")
    holder.execute(
        f"SELECT 1 FROM {CouponType._meta.db_table} WHERE id = %s FOR UPDATE",
        [prize.pk],
    )
    seen_at_answer = {}

    def visible(draw_id):
        return onlooker.execute(
            f"SELECT won FROM {Draw._meta.db_table} WHERE id = %s", [draw_id]
        ).fetchone()

    async def work(committer):
        futures = [
            asyncio.ensure_future(_submit(committer, campaign, p.pk, picked=prize.pk))
            for p in people
        ]
        for future in futures:
            future.add_done_callback(
                lambda f: seen_at_answer.setdefault(
                    f.result().id, visible(f.result().id)
                )
            )
        for _ in range(500):
            await asyncio.sleep(0.01)
            pid = committer.backend_pid
            row = (
                pid
                and onlooker.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
                ).fetchone()
            )
            if row and row[0] == "Lock":
                break
        else:
            raise AssertionError("the committer never waited for the lock")
        assert not any(future.done() for future in futures)
        committed = onlooker.execute(
            f"SELECT count(*) FROM {Draw._meta.db_table} WHERE campaign_id = %s",
            [campaign.pk],
        ).fetchone()[0]
        holder.execute("ROLLBACK")
        return committed, await asyncio.gather(*futures)

    try:
        committed, answers = _run(work)
    finally:
        holder.close()
        onlooker.close()

    # then nobody was answered while it waited, and each answer's row was
    # committed, won, when it was given
    assert committed == 0
    assert all(answer.won for answer in answers)
    assert seen_at_answer == {answer.id: (True,) for answer in answers}


def _race_two_loops_and_draw_run(campaign, prize, people) -> dict:
    """``prize`` rolled by 90 ``people`` at once: 30 in batches of at most 5 on
    each of two loops (a, b), 30 through ``draw_run`` on two threads (c, d);
    each one's answers."""
    answers = {}
    go = threading.Barrier(4)

    def loop(name, chunk):
        go.wait(timeout=10)
        answers[name] = _draw_all(
            campaign, [p.pk for p in chunk], picked=prize.pk, max_batch=5
        )[0]

    def one_by_one(name, chunk):
        go.wait(timeout=10)
        try:
            answers[name] = [
                draw_run(campaign=campaign, customer=p, now=LATE, roll=0.1)
                for p in chunk
            ]
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=loop, args=("a", people[0:90:3])),
        threading.Thread(target=loop, args=("b", people[1:90:3])),
        threading.Thread(target=one_by_one, args=("c", people[2:90:6])),
        threading.Thread(target=one_by_one, args=("d", people[5:90:6])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_batches_racing_from_two_loops_and_draw_run_give_exactly_the_quota():
    # given 90 winning rolls for 10 coupons a day (12 in all): 30 in batches of
    # at most 5 on each of two loops, 30 through draw_run on two threads
    campaign = _campaign()
    prize = CouponTypeFactory(campaign=campaign, daily_quota=10, total_quota=12)
    people = CustomerFactory.create_batch(90)
    answers = _race_two_loops_and_draw_run(campaign, prize, people)

    # then exactly the day's quota was won, once each, whichever path
    assert sorted(answers) == ["a", "b", "c", "d"]
    assert sum(len(a) for a in answers.values()) == 90
    assert (
        sum(a.won for a in answers["a"] + answers["b"])
        + sum(d.won for d in answers["c"] + answers["d"])
        == 10
    )
    prize.refresh_from_db()
    assert (prize.issued_total, prize.issued_today) == (10, 10)
    assert Voucher.objects.filter(coupon_type=prize).count() == 10
    assert Draw.objects.filter(won=True).count() == 10
    assert Draw.objects.count() == 90


def _sharded_prize(campaign, shards: int, **quotas) -> CouponType:
    prize = CouponTypeFactory.build(campaign=campaign, quota_shards=shards, **quotas)
    return coupon_type_save(coupon_type=prize, acting_user=None)


def test_a_batch_takes_a_sharded_prize_across_its_shards_never_over():
    # given a prize of 13 spread over 8 shards (2 or 1 each)
    campaign = _campaign()
    prize = _sharded_prize(campaign, 8, total_quota=13)
    people = CustomerFactory.create_batch(20)

    # when 20 roll it in one batch
    answers, _ = _draw_all(campaign, [p.pk for p in people], picked=prize.pk)

    # then the batch's first 13 win, from every shard
    assert [a.won for a in answers] == [True] * 13 + [False] * 7
    shards = QuotaShard.objects.filter(coupon_type=prize)
    assert all(s.issued_total == s.total_share for s in shards)
    assert quota_issued([prize.pk])[prize.pk].total == 13
    assert Voucher.objects.filter(coupon_type=prize).count() == 13


def test_a_sharded_prize_keeps_its_daily_quota_in_batches_across_midnight():
    # given 3 a day and 5 in all over 4 shards, in Los Angeles
    campaign = _campaign()
    prize = _sharded_prize(campaign, 4, daily_quota=3, total_quota=5)
    people = CustomerFactory.create_batch(20)
    after_midnight = LATE + dt.timedelta(minutes=20)
    next_day = campaign.local_day(after_midnight)

    # when ten roll it before midnight, and ten after the day opened
    today, _ = _draw_all(campaign, [p.pk for p in people[:10]], picked=prize.pk)
    quotas_open_day(campaign=campaign, day=next_day)
    tomorrow, _ = _draw_all(
        campaign,
        [p.pk for p in people[10:]],
        picked=prize.pk,
        now=after_midnight,
        day=next_day,
    )

    # then three win, then the two the total leaves
    assert [a.won for a in today] == [True] * 3 + [False] * 7
    assert [a.won for a in tomorrow] == [True] * 2 + [False] * 8
    issued = quota_issued([prize.pk])[prize.pk]
    assert (issued.total, issued.on(next_day)) == (5, 2)


def test_sharded_batches_from_two_loops_and_draw_run_give_exactly_the_quota():
    # given 90 winning rolls for 12 coupons over 8 shards: 30 in batches of at
    # most 5 on each of two loops, 30 through draw_run on two threads
    campaign = _campaign()
    prize = _sharded_prize(campaign, 8, total_quota=12)
    people = CustomerFactory.create_batch(90)
    answers = _race_two_loops_and_draw_run(campaign, prize, people)

    # then exactly the quota was won, whichever path
    assert sorted(answers) == ["a", "b", "c", "d"]
    wins = sum(a.won for a in answers["a"] + answers["b"]) + sum(
        d.won for d in answers["c"] + answers["d"]
    )
    assert wins == 12
    assert quota_issued([prize.pk])[prize.pk].total == 12
    assert Draw.objects.filter(won=True).count() == 12
