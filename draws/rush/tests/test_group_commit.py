"""The rush's group commit against real Postgres: the same rules as one request at a
time, answers only after COMMIT, each answer its own, failures kept to themselves.

Each test runs its committers in event loops of its own (``asyncio.run``); the
ORM sets up and checks from the test's thread, outside any loop.
"""

import asyncio
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal

import psycopg
import pytest
from django.db import connections, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from campaigns.models import CouponType
from couponsite.codes import generate_codes
from couponsite.group_commit import GroupCommitFailed, GroupCommitter, connection_params
from customers.models import Customer
from draws.opening import NotInActiveTime
from draws.rush.models import Grab, Reservation, RushDay
from draws.rush.serializers import GrabSerializer, ReservationSerializer
from draws.rush.services import AlreadyReceived, DuplicatedReservation, rush_reserve
from draws.rush.services.common import RushNotConfigured, rush_coupon_type
from draws.rush.services.grab import _grab_write
from draws.rush.services.group_commit import (
    GrabOutcome,
    grab_submit,
    reservation_submit,
    reservations,
)
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    customers,
    rush_campaign,
)
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOBODY = 10**12  # a customer id that does not exist


def _run(work, **options):
    """``await work(committer)`` on a fresh loop and committer; closed afterwards."""

    async def main():
        committer = GroupCommitter(**options)
        try:
            return await work(committer)
        finally:
            await committer.aclose()

    return asyncio.run(main())


def _reserve_all(committer, campaign, people, now=RESERVING):
    return asyncio.gather(
        *(
            reservation_submit(
                committer,
                campaign_id=campaign.pk,
                day=DAY,
                customer_id=person.pk,
                now=now,
            )
            for person in people
        ),
        return_exceptions=True,
    )


def _grab_all(committer, campaign, winners, now=RUSHING):
    """``winners``: (customer id, reservation id, voucher id) each."""
    return asyncio.gather(
        *(
            grab_submit(
                committer,
                campaign_id=campaign.pk,
                day=DAY,
                customer_id=customer_id,
                reservation_id=reservation_id,
                voucher_id=voucher_id,
                now=now,
            )
            for customer_id, reservation_id, voucher_id in winners
        ),
        return_exceptions=True,
    )


def _render(serializer) -> bytes:
    return JSONRenderer().render(serializer.data)


def _day_state(campaign):
    day = RushDay.objects.get(campaign=campaign)
    coupons = Voucher.objects.filter(release=day.release)
    return {
        "reservations": day.reservations,
        "coupons": day.coupons,
        "made": coupons.count(),
        "released": day.release.count,
        "free": coupons.filter(status=Voucher.Status.AVAILABLE).count(),
    }


def _sql_connection() -> psycopg.Connection:
    """A connection of the test's own, outside Django (a lock holder, an onlooker)."""
    return psycopg.connect(**connection_params(), autocommit=True)


async def _until_waiting_on_a_lock(committer, onlooker) -> None:
    for _ in range(500):
        await asyncio.sleep(0.01)
        pid = committer.backend_pid
        if pid is None:
            continue
        row = onlooker.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
        if row and row[0] == "Lock":
            return
    raise AssertionError("the committer never waited for the lock")


def _winners(campaign, people):
    """(customer, reservation, free coupon) for each of ``people``, coupons shuffled."""
    reservations = dict(
        Reservation.objects.filter(campaign=campaign).values_list("customer", "id")
    )
    free = list(
        Voucher.objects.filter(
            campaign=campaign, status=Voucher.Status.AVAILABLE
        ).values_list("id", flat=True)
    )
    random.shuffle(free)
    return [
        (person.pk, reservations[person.pk], voucher_id)
        for person, voucher_id in zip(people, free, strict=False)
    ]


# --- Reservations ---------------------------------------------------------------------


def test_a_batch_reserves_as_rush_reserve_does_one_by_one():
    # given two twin rushes and the same customers, some of them twice
    one_by_one, batched = rush_campaign(slug="one"), rush_campaign(slug="batched")
    # whose coupons have redemption rules (each coupon copies them)
    CouponType.objects.filter(campaign__in=[one_by_one, batched]).update(
        min_order_amount=Decimal(20), categories="shoes", per_customer_limit=2
    )
    people = customers(12)
    requests = [*people, people[3], people[7]]

    # when one rush takes them through rush_reserve and the other in one batch
    expected = []
    for person in requests:
        try:
            expected.append(
                rush_reserve(campaign=one_by_one, customer=person, now=RESERVING).number
            )
        except DuplicatedReservation as exc:
            expected.append(exc.code)
    answers = _run(lambda committer: _reserve_all(committer, batched, requests))

    # then the same numbers, refusals and coupons, in one transaction
    got = [
        answer.number if not isinstance(answer, Exception) else answer.code
        for answer in answers
    ]
    assert got == expected
    assert _day_state(batched) == _day_state(one_by_one)
    assert _day_state(batched) == {
        "reservations": 12,
        "coupons": 2,
        "made": 2,
        "released": 2,
        "free": 2,
    }
    twins = zip(
        Voucher.objects.filter(campaign=one_by_one).order_by("id"),
        Voucher.objects.filter(campaign=batched).order_by("id"),
        strict=True,
    )
    for theirs, ours in twins:
        different = {"id", "code", "campaign", "coupon_type", "release"}
        assert model_to_dict(ours, exclude=different) == model_to_dict(
            theirs, exclude=different
        )
        assert ours.created_at == RESERVING
        assert (ours.min_order_amount, ours.categories) == (Decimal(20), "shoes")
    # and each body is what the serializer gives for the committed row
    for person, answer in zip(requests, answers, strict=True):
        if isinstance(answer, Exception):
            continue
        row = Reservation.objects.get(pk=answer.id)
        assert (row.customer_id, row.number) == (person.pk, answer.number)
        assert answer.body == _render(ReservationSerializer(row))
    assert Reservation.objects.filter(campaign=batched).values("created_at").get(
        customer=people[0]
    ) == {"created_at": RESERVING}


@pytest.mark.parametrize(
    ("window", "prepare"), [(0.0, False), (0.002, False), (0.0, True)]
)
def test_every_answer_carries_its_own_customers_row(window, prepare):
    campaign = rush_campaign()
    people = customers(100)
    random.shuffle(people)

    async def work(committer):  # two batches: the second runs prepared statements
        return [
            *await _reserve_all(committer, campaign, people[:50]),
            *await _reserve_all(committer, campaign, people[50:]),
        ]

    answers = _run(work, window=window, prepare=prepare)

    rows = {row.pk: row for row in Reservation.objects.filter(campaign=campaign)}
    assert sorted(answer.number for answer in answers) == list(range(1, 101))
    for person, answer in zip(people, answers, strict=True):
        assert answer.customer_id == person.pk
        row = rows[answer.id]
        assert (row.customer_id, row.number) == (person.pk, answer.number)
        assert f'"number":{answer.number},'.encode() in answer.body


def test_a_closed_day_refuses_the_whole_batch_and_writes_nothing():
    campaign = rush_campaign()
    first, *others = customers(4)
    rush_reserve(campaign=campaign, customer=first, now=RESERVING)
    RushDay.objects.filter(campaign=campaign).update(reservations_closed_at=RUSHING)

    answers = _run(lambda committer: _reserve_all(committer, campaign, others))

    assert all(isinstance(answer, NotInActiveTime) for answer in answers)
    assert answers[0].detail == "Reservations for today's rush are closed."
    assert Reservation.objects.filter(campaign=campaign).count() == 1


def test_a_rush_without_its_coupon_type_is_not_configured():
    campaign = rush_campaign()
    CouponType.objects.filter(campaign=campaign).delete()
    people = customers(2)

    answers = _run(lambda committer: _reserve_all(committer, campaign, people))

    assert all(isinstance(answer, RushNotConfigured) for answer in answers)
    assert not RushDay.objects.filter(campaign=campaign).exists()


def test_a_coupon_code_that_collides_is_drawn_again(monkeypatch):
    # given a stored coupon code, which the next draw of codes will repeat
    other = rush_campaign(slug="other", ratio=Decimal(1))
    rush_reserve(campaign=other, customer=customers(1, start=900)[0], now=RESERVING)
    (taken_code,) = Voucher.objects.filter(campaign=other).values_list(
        "code", flat=True
    )
    draws = []

    def draw(count, **options):
        draws.append(count)
        codes = generate_codes(count, **options)
        return [taken_code, *codes[1:]] if len(draws) == 1 else codes

    monkeypatch.setattr(reservations, "generate_codes", draw)
    campaign = rush_campaign()
    people = customers(5)

    # when the fifth reservation makes the day's first coupon
    answers = _run(lambda committer: _reserve_all(committer, campaign, people))

    # then the coupon got a fresh code, counted once in its release
    assert [answer.number for answer in answers] == [1, 2, 3, 4, 5]
    assert draws == [1, 1]
    assert _day_state(campaign) == {
        "reservations": 5,
        "coupons": 1,
        "made": 1,
        "released": 1,
        "free": 1,
    }
    assert Voucher.objects.get(campaign=campaign).code != taken_code


def test_a_request_that_cannot_be_written_fails_alone():
    # given a batch with a customer who does not exist and one who already reserved
    campaign = rush_campaign()
    people = customers(6)
    rush_reserve(campaign=campaign, customer=people[0], now=RESERVING)

    class Nobody:
        pk = NOBODY

    committer_stats = {}

    async def work(committer):
        answers = await _reserve_all(
            committer, campaign, [people[1], Nobody, people[0], *people[2:]]
        )
        committer_stats.update(vars(committer.stats))
        return answers

    # when the batch is written
    answers = _run(work)

    # then only those two are refused, each for its own reason; the others are
    # numbered as if the failed one had never come
    assert isinstance(answers[1], GroupCommitFailed)
    assert not answers[1].outcome_unknown
    assert isinstance(answers[2], DuplicatedReservation)
    assert [answers[0].number, *(a.number for a in answers[3:])] == [2, 3, 4, 5, 6]
    assert committer_stats["retried_alone"] == 7
    assert _day_state(campaign)["reservations"] == 6


def test_reservations_racing_from_two_loops_and_rush_reserve_are_gapless():
    # given 150 customers, each sent by two event loops (a committer and a
    # connection each) and a third of them also through rush_reserve on a thread,
    # all starting at once on a day that has no counter row yet
    campaign = rush_campaign()
    people = customers(150)
    start = threading.Barrier(3)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def record(person_id, answer):
        with lock:
            outcomes.append(
                (person_id, answer.code if isinstance(answer, Exception) else "OK")
            )

    def loop(order, max_batch):
        async def work(committer):
            start.wait()
            answers = await _reserve_all(committer, campaign, order)
            for person, answer in zip(order, answers, strict=True):
                record(person.pk, answer)

        _run(work, max_batch=max_batch)

    def one_by_one():
        start.wait()
        try:
            for person in people[::3]:
                try:
                    rush_reserve(campaign=campaign, customer=person, now=RESERVING)
                    record(person.pk, None)
                except DuplicatedReservation as exc:
                    record(person.pk, exc)
        finally:
            connections.close_all()

    # when they race
    threads = [
        threading.Thread(target=loop, args=(people, 500)),
        threading.Thread(target=loop, args=(people[::-1], 7)),
        threading.Thread(target=one_by_one),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then each customer reserved exactly once, numbered 1..150 without a gap
    assert Counter(outcome for _, outcome in outcomes) == {
        "OK": 150,
        "ERROR_DUPLICATED_RESERVATION": 150 + 50,
    }
    assert {person_id for person_id, outcome in outcomes if outcome == "OK"} == {
        person.pk for person in people
    }
    numbers = sorted(
        Reservation.objects.filter(campaign=campaign).values_list("number", flat=True)
    )
    assert numbers == list(range(1, 151))
    assert _day_state(campaign) == {
        "reservations": 150,
        "coupons": 30,
        "made": 30,
        "released": 30,
        "free": 30,
    }


def test_no_reservation_is_answered_before_it_is_committed():
    # given a day whose release row another transaction holds: a batch that makes
    # a coupon writes its reservations, then waits there, uncommitted
    campaign = rush_campaign()
    people = customers(6)
    rush_reserve(campaign=campaign, customer=people[0], now=RESERVING)
    release_id = RushDay.objects.get(campaign=campaign).release_id
    holder, onlooker = _sql_connection(), _sql_connection()
    holder.execute("BEGIN")
    holder.execute(
        "SELECT 1 FROM campaigns_release WHERE id = %s FOR UPDATE", [release_id]
    )
    seen_at_answer: dict[int, int] = {}

    def visible(reservation_id):
        return onlooker.execute(
            "SELECT count(*) FROM draws_reservation WHERE id = %s", [reservation_id]
        ).fetchone()[0]

    async def work(committer):
        futures = [
            asyncio.ensure_future(
                reservation_submit(
                    committer,
                    campaign_id=campaign.pk,
                    day=DAY,
                    customer_id=p.pk,
                    now=RESERVING,
                )
            )
            for p in people[1:]
        ]
        for future in futures:
            future.add_done_callback(
                lambda f: seen_at_answer.setdefault(
                    f.result().id, visible(f.result().id)
                )
            )
        await _until_waiting_on_a_lock(committer, onlooker)
        # when the batch has written its rows but cannot commit
        assert not any(future.done() for future in futures)
        uncommitted = onlooker.execute(
            "SELECT count(*) FROM draws_reservation WHERE campaign_id = %s",
            [campaign.pk],
        ).fetchone()[0]
        holder.execute("ROLLBACK")
        return uncommitted, await asyncio.gather(*futures)

    try:
        uncommitted, answers = _run(work)
    finally:
        holder.close()
        onlooker.close()

    # then nobody was answered while it waited, and every answer found its row
    # committed and visible to another connection at the moment it was given
    assert uncommitted == 1
    assert [answer.number for answer in answers] == [2, 3, 4, 5, 6]
    assert seen_at_answer == {answer.id: 1 for answer in answers}


# --- Grabs ----------------------------------------------------------------------------


def _reserved_rush(count, **fields):
    """A rush where ``count`` customers reserved, with one coupon each (ratio 1)."""
    campaign = rush_campaign(ratio=Decimal(1), **fields)
    people = customers(count)
    answers = _run(lambda committer: _reserve_all(committer, campaign, people))
    assert not [answer for answer in answers if isinstance(answer, Exception)]
    return campaign, people


@pytest.mark.parametrize(
    ("benefit", "expired"),
    [
        ({"benefit_kind": "amount", "amount": Decimal(10), "currency": "USD"}, False),
        (
            {"benefit_kind": "percent", "percent": Decimal("12.5"), "valid_days": 2},
            False,
        ),
        ({"benefit_kind": "free_item", "free_item": "Buy 1 get 1 free"}, False),
        ({"percent": Decimal(20), "valid_until": "in 5 hours"}, False),
        ({"benefit_kind": "amount", "amount": Decimal(5), "currency": "EUR"}, True),
    ],
    ids=["amount", "percent", "free-item", "valid-until", "expired"],
)
def test_a_granted_grab_writes_and_answers_as_grab_write_does(benefit, expired):
    # given two customers, one with a verified email, and two free coupons
    now = RUSHING if expired else timezone.now()  # microseconds and all
    if "valid_until" in benefit:
        benefit = {**benefit, "valid_until": now + dt.timedelta(hours=5)}
    coupon_type = {"name": "Prize", "code_prefix": "RX", "valid_days": 7, **benefit}
    campaign, (alice, bob) = _reserved_rush(2, coupon_types=[coupon_type])
    alice.email = "alice@example.com"
    alice.save()
    (a_res, a_coupon), (b_res, b_coupon) = [
        (r.pk, v)
        for r, v in zip(
            Reservation.objects.filter(campaign=campaign).order_by("number"),
            Voucher.objects.filter(campaign=campaign).order_by("id"),
            strict=True,
        )
    ]

    # when one gets hers from the group committer, the other his from _grab_write
    (granted,) = _run(
        lambda committer: _grab_all(
            committer, campaign, [(alice.pk, a_res, a_coupon.pk)], now=now
        )
    )
    with transaction.atomic():
        _grab_write(
            campaign=campaign,
            coupon_type=rush_coupon_type(campaign),
            customer=bob,
            day=DAY,
            reservation_id=b_res,
            voucher_id=b_coupon.pk,
            via=Grab.Via.REDIS,
            now=now,
        )

    # then both coupons and grabs are alike but for whose they are
    assert granted.outcome == GrabOutcome.GRANTED
    ours, theirs = (
        Voucher.objects.get(pk=a_coupon.pk),
        Voucher.objects.get(pk=b_coupon.pk),
    )
    personal = {"id", "code", "owner", "email"}
    assert model_to_dict(ours, exclude=personal) == model_to_dict(
        theirs, exclude=personal
    )
    assert (ours.owner, ours.email, theirs.email) == (alice, "alice@example.com", "")
    ours_grab, theirs_grab = (
        Grab.objects.get(customer=alice),
        Grab.objects.get(customer=bob),
    )
    assert granted.grab_id == ours_grab.pk
    assert (ours_grab.via, ours_grab.day, ours_grab.created_at) == (
        theirs_grab.via,
        theirs_grab.day,
        theirs_grab.created_at,
    )
    # and the body is the serializer's, byte for byte
    assert granted.body == _render(GrabSerializer(ours_grab))
    assert granted.body.startswith(b'{"voucher":{"code":"RX')
    status = b'"status":"expired"' if expired else b'"status":"issued"'
    assert status in granted.body


def test_grab_outcomes_gone_already_received_granted():
    # given five reserved customers and their five coupons; one coupon is already
    # someone's, one customer already holds a coupon
    campaign, (holder, repeat, twice, fresh, _) = _reserved_rush(5)
    (
        (h, h_res, h_coupon),
        (r, r_res, r_coupon),
        (t, t_res, t_coupon),
        (
            f,
            f_res,
            f_coupon,
        ),
    ) = _winners(campaign, [holder, repeat, twice, fresh])
    _run(lambda c: _grab_all(c, campaign, [(h, h_res, h_coupon), (r, r_res, r_coupon)]))
    spare = Voucher.objects.filter(
        campaign=campaign, status=Voucher.Status.AVAILABLE
    ).exclude(pk__in=[t_coupon, f_coupon])
    # a free coupon with a past of its own, which a refused grab must leave as it was
    spare.update(email="kept@example.com", issued_at=RESERVING)
    spare_before = model_to_dict(spare.get())
    spare_id = spare_before["id"]

    # when a batch asks for a taken coupon, a second coupon for a holder, and two
    # coupons for one customer
    answers = _run(
        lambda c: _grab_all(
            c,
            campaign,
            [
                (f, f_res, h_coupon),  # gone: the holder's
                (r, r_res, spare_id),  # already received
                (t, t_res, t_coupon),
                (t, t_res, f_coupon),  # the same customer again
            ],
        )
    )

    # then each is told what became of it, and only the granted coupon changed
    assert [answer.outcome for answer in answers[:2]] == [
        GrabOutcome.GONE,
        GrabOutcome.ALREADY_RECEIVED,
    ]
    assert answers[0].holder_id == h
    assert answers[1].holds_voucher_id == r_coupon
    assert model_to_dict(Voucher.objects.get(pk=spare_id)) == spare_before
    assert sorted(answer.outcome for answer in answers[2:]) == [
        GrabOutcome.ALREADY_RECEIVED,
        GrabOutcome.GRANTED,
    ]
    granted, refused = sorted(answers[2:], key=lambda a: a.outcome != "granted")
    assert refused.holds_voucher_id == granted.voucher_id
    assert Voucher.objects.get(pk=refused.voucher_id).status == Voucher.Status.AVAILABLE
    assert Grab.objects.get(customer=t).voucher_id == granted.voucher_id
    assert Grab.objects.count() == 3


def test_two_hundred_winners_share_one_transaction_each_with_their_own_coupon():
    campaign, people = _reserved_rush(200)
    winners = _winners(campaign, people)
    stats = {}

    async def work(committer):
        answers = await _grab_all(committer, campaign, winners)
        stats.update(vars(committer.stats))
        return answers

    answers = _run(work)

    assert [answer.outcome for answer in answers] == [GrabOutcome.GRANTED] * 200
    assert stats["transactions"] == 1 and stats["largest_batch"] == 200
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT xmin::text) FROM draws_grab")
        assert cursor.fetchone() == (1,)
    grabs = {
        grab.voucher_id: grab
        for grab in Grab.objects.select_related(
            "voucher__campaign", "voucher__coupon_type"
        )
    }
    for (customer_id, reservation_id, voucher_id), answer in zip(
        winners, answers, strict=True
    ):
        assert (answer.customer_id, answer.voucher_id) == (customer_id, voucher_id)
        grab = grabs[voucher_id]
        assert (grab.customer_id, grab.reservation_id) == (customer_id, reservation_id)
        assert grab.voucher.owner_id == customer_id
        assert answer.grab_id == grab.pk
        assert answer.body == _render(GrabSerializer(grab))  # its own coupon's code


def test_winners_racing_from_two_loops_and_grab_write_each_get_one_coupon():
    # given 60 reserved customers and their 60 coupons; two event loops send every
    # customer, each with other coupons, and a thread sends a third of them
    # through _grab_write with coupons of its own choosing
    campaign, people = _reserved_rush(60)
    winners = _winners(campaign, people)
    coupons = [voucher_id for _, _, voucher_id in winners]
    first = winners
    second = [(c, r, v) for (c, r, _), v in zip(winners, coupons[::-1], strict=True)]
    by_hand = [
        (c, r, v) for (c, r, _), v in zip(winners[:20], coupons[20:40], strict=True)
    ]
    start = threading.Barrier(3)
    answers = []
    written_by_hand = []

    def loop(order, max_batch):
        async def work(committer):
            start.wait()
            return await _grab_all(committer, campaign, order)

        answers.extend(_run(work, max_batch=max_batch))

    def one_by_one():
        start.wait()
        coupon_type = rush_coupon_type(campaign)
        try:
            for customer_id, reservation_id, voucher_id in by_hand:
                try:
                    with transaction.atomic():
                        grab = _grab_write(
                            campaign=campaign,
                            coupon_type=coupon_type,
                            customer=Customer.objects.get(pk=customer_id),
                            day=DAY,
                            reservation_id=reservation_id,
                            voucher_id=voucher_id,
                            via=Grab.Via.POSTGRES,
                            now=RUSHING,
                        )
                except AlreadyReceived:
                    continue
                if grab is not None:
                    written_by_hand.append((customer_id, voucher_id))
        finally:
            connections.close_all()

    # when they race
    threads = [
        threading.Thread(target=loop, args=(first, 500)),
        threading.Thread(target=loop, args=(second, 9)),
        threading.Thread(target=one_by_one),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then every grant is a committed grab and every grab was granted once; the
    # refusals name what is true
    grabs = set(Grab.objects.values_list("customer", "voucher"))
    granted = [(a.customer_id, a.voucher_id) for a in answers if a.outcome == "granted"]
    assert sorted(granted + written_by_hand) == sorted(grabs)
    assert len(grabs) == len({customer for customer, _ in grabs}) <= 60
    holders = dict(Grab.objects.values_list("voucher", "customer"))
    for answer in answers:
        if answer.outcome == GrabOutcome.GONE:
            assert answer.holder_id == holders[answer.voucher_id]
        elif answer.outcome == GrabOutcome.ALREADY_RECEIVED:
            assert holders[answer.holds_voucher_id] == answer.customer_id
    issued = Voucher.objects.filter(campaign=campaign).exclude(
        status=Voucher.Status.AVAILABLE
    )
    assert set(issued.values_list("owner", "pk")) == grabs


def test_a_grab_that_cannot_be_written_fails_alone():
    campaign, people = _reserved_rush(5)
    winners = _winners(campaign, people)
    customer_id, _, broken_coupon = winners[2]
    winners[2] = (customer_id, NOBODY, broken_coupon)  # no such reservation

    answers = _run(lambda committer: _grab_all(committer, campaign, winners))

    assert isinstance(answers[2], GroupCommitFailed)
    assert [answers[i].outcome for i in (0, 1, 3, 4)] == [GrabOutcome.GRANTED] * 4
    assert Voucher.objects.get(pk=broken_coupon).status == Voucher.Status.AVAILABLE
    assert Grab.objects.count() == 4


def test_no_grab_is_answered_before_it_is_committed():
    # given winners, one of whose reservations another transaction holds: the
    # batch takes the coupons, then waits to insert the grabs
    campaign, people = _reserved_rush(3)
    winners = _winners(campaign, people)
    holder, onlooker = _sql_connection(), _sql_connection()
    holder.execute("BEGIN")
    holder.execute(
        "SELECT 1 FROM draws_reservation WHERE id = %s FOR UPDATE", [winners[1][1]]
    )
    seen_at_answer = {}

    def owner(voucher_id):
        return onlooker.execute(
            "SELECT owner_id FROM vouchers_voucher WHERE id = %s", [voucher_id]
        ).fetchone()[0]

    async def work(committer):
        future = asyncio.ensure_future(_grab_all(committer, campaign, winners))
        await _until_waiting_on_a_lock(committer, onlooker)
        assert not future.done()
        owners_meanwhile = [owner(voucher_id) for _, _, voucher_id in winners]
        holder.execute("ROLLBACK")
        answers = await future
        for answer in answers:
            seen_at_answer[answer.voucher_id] = owner(answer.voucher_id)
        return owners_meanwhile, answers

    try:
        owners_meanwhile, answers = _run(work)
    finally:
        holder.close()
        onlooker.close()

    assert owners_meanwhile == [None, None, None]
    assert [answer.outcome for answer in answers] == [GrabOutcome.GRANTED] * 3
    assert seen_at_answer == {v: c for c, _, v in winners}


# --- The connection -------------------------------------------------------------------


def test_a_lost_connection_fails_its_batch_and_the_next_batch_reconnects():
    # given a batch waiting for the day's counter row, which another transaction holds
    campaign = rush_campaign()
    people = customers(5)
    rush_reserve(campaign=campaign, customer=people[0], now=RESERVING)
    holder, killer = _sql_connection(), _sql_connection()
    holder.execute("BEGIN")
    holder.execute(
        "SELECT 1 FROM draws_rushday WHERE campaign_id = %s FOR UPDATE", [campaign.pk]
    )

    async def work(committer):
        waiting = asyncio.ensure_future(_reserve_all(committer, campaign, people[1:3]))
        await _until_waiting_on_a_lock(committer, killer)
        # when its backend is terminated mid-batch
        killer.execute("SELECT pg_terminate_backend(%s)", [committer.backend_pid])
        lost = await waiting
        holder.execute("ROLLBACK")
        # then the next batch connects again, and so does one after an idle kill
        after = await _reserve_all(committer, campaign, people[3:4])
        killer.execute("SELECT pg_terminate_backend(%s)", [committer.backend_pid])
        await asyncio.sleep(0.1)
        idle_kill = await _reserve_all(committer, campaign, people[4:5])
        return lost, after + idle_kill, committer.stats.connections

    try:
        lost, later, connections_made = _run(work)
    finally:
        holder.close()
        killer.close()

    assert all(isinstance(answer, GroupCommitFailed) for answer in lost)
    assert not any(answer.outcome_unknown for answer in lost)
    assert [answer.number for answer in later] == [2, 3]
    assert connections_made == 3


# A worker: 50 clients reserving through its committer, each acknowledgement
# printed (and flushed) the moment the client has it.
_WORKER = """
import asyncio, datetime as dt, json, sys
import django
django.setup()
from couponsite.group_commit import GroupCommitter
from draws.rush.services.group_commit import reservation_submit

campaign_id, day, customer_ids = json.loads(sys.argv[1])

async def main():
    committer = GroupCommitter(max_batch=25)
    todo = list(reversed(customer_ids))

    async def client():
        while todo:
            customer_id = todo.pop()
            reserved = await reservation_submit(
                committer,
                campaign_id=campaign_id,
                day=dt.date.fromisoformat(day),
                customer_id=customer_id,
            )
            print(customer_id, reserved.number, flush=True)

    await asyncio.gather(*(client() for _ in range(50)))

asyncio.run(main())
"""


def test_a_worker_killed_mid_batch_loses_no_acknowledged_reservation():
    # given a worker process reserving for 3,000 customers, batch after batch
    campaign = rush_campaign()
    people = customers(3000)
    rush_reserve(campaign=campaign, customer=people[0], now=RESERVING)
    release_id = RushDay.objects.get(campaign=campaign).release_id
    database = connections["default"].settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "couponsite.settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}",
    }
    job = [campaign.pk, DAY.isoformat(), [person.pk for person in people[1:]]]
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, json.dumps(job)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    holder, onlooker = _sql_connection(), _sql_connection()

    # when, after 300 acknowledgements, a batch has written its reservations and
    # waits (for the day's release row, held here) and the worker gets SIGKILL
    acknowledged = []
    try:
        for line in worker.stdout:
            acknowledged.append(tuple(map(int, line.split())))
            if len(acknowledged) == 300:
                break
        holder.execute("BEGIN")
        holder.execute(
            "SELECT 1 FROM campaigns_release WHERE id = %s FOR UPDATE", [release_id]
        )
        _until_a_worker_waits(onlooker, database["NAME"])
        in_flight = onlooker.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND state = 'active' AND wait_event_type = 'Lock'",
            [database["NAME"]],
        ).fetchone()[0]
        os.kill(worker.pid, signal.SIGKILL)
        acknowledged += [tuple(map(int, line.split())) for line in worker.stdout]
    finally:
        worker.kill()
        worker.wait(timeout=30)
        holder.close()
        onlooker.close()

    # then every acknowledged reservation is committed, the batch in flight left
    # nothing behind, and the committed ones are numbered without a gap
    assert worker.returncode == -signal.SIGKILL
    assert in_flight == 1
    committed = dict(
        Reservation.objects.filter(campaign=campaign).values_list("customer", "number")
    )
    committed.pop(people[0].pk)
    assert committed == dict(acknowledged)
    assert sorted(committed.values()) == list(range(2, len(committed) + 2))
    day = _day_state(campaign)
    assert day["reservations"] == len(committed) + 1
    assert day["made"] == day["released"] == day["coupons"] == day["reservations"] // 5


def _until_a_worker_waits(onlooker, database: str) -> None:
    for _ in range(500):
        waiting = onlooker.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND application_name = 'couponsite group commit' "
            "AND wait_event_type = 'Lock'",
            [database],
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("the worker's batch never waited for the lock")
