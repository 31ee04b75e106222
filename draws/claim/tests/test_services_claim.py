"""Claim and hold services: releases, daily claims, holds that lapse, the sweeper."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign
from couponsite.codes import is_well_formed
from draws.claim import releases as claim_releases
from draws.claim import services as claim_services
from draws.claim.releases import InvalidReleaseCount, batch_release
from draws.claim.services import (
    AlreadyClaimedToday,
    SoldOut,
    claim_take,
    holds_release_expired,
)
from draws.claim.tests.claim_helpers import (
    assert_pool_invariants,
    claim_campaign,
    first_type,
    make_customers,
)
from draws.models import Claim
from draws.opening import NotInActiveTime, WrongCampaignKind
from draws.pool import Release
from vouchers import selectors as voucher_selectors
from vouchers.errors import HoldExpired
from vouchers.models import Voucher, VoucherEvent
from vouchers.services import voucher_redeem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T0 = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)


def at(moment: dt.datetime):
    """Stop the clock at ``moment``."""
    return time_machine.travel(moment, tick=False)


def _events(voucher: Voucher) -> list[tuple[str, int | None]]:
    return list(
        VoucherEvent.objects.filter(voucher=voucher)
        .order_by("id")
        .values_list("kind", "customer_id")
    )


# --- Releases ----------------------------------------------------------------------


def test_a_release_puts_available_coupons_with_the_types_benefit_in_the_pool(
    staff_user,
):
    campaign = claim_campaign()
    coupon_type = first_type(campaign)

    release = batch_release(
        coupon_type=coupon_type, count=25, acting_user=staff_user, note="monday"
    )

    vouchers = Voucher.objects.filter(release=release)
    assert vouchers.count() == 25
    assert set(vouchers.values_list("status", flat=True)) == {"available"}
    assert set(vouchers.values_list("campaign_id", "coupon_type_id")) == {
        (campaign.pk, coupon_type.pk)
    }
    assert set(vouchers.values_list("benefit_kind", "percent")) == {
        (coupon_type.benefit_kind, coupon_type.percent)
    }
    assert not vouchers.filter(owner__isnull=False).exists()
    codes = list(vouchers.values_list("code", flat=True))
    assert len(set(codes)) == 25
    assert all(is_well_formed(c) and c.startswith("CP") for c in codes)
    assert (release.count, release.released_by, release.note) == (
        25,
        staff_user,
        "monday",
    )
    event = VoucherEvent.objects.get(kind=VoucherEvent.Kind.RELEASED)
    assert (event.campaign, event.actor, event.voucher) == (campaign, staff_user, None)
    assert event.data == {
        "release": release.pk,
        "coupon_type": coupon_type.pk,
        "count": 25,
    }


def test_a_release_inserts_one_statement_per_chunk_and_reports_progress():
    coupon_type = first_type(claim_campaign())
    progress = []

    with CaptureQueriesContext(connection) as queries:
        batch_release(
            acting_user=None,
            coupon_type=coupon_type,
            count=10,
            chunk_size=3,
            progress=progress.append,
        )

    inserts = [
        q for q in queries if q["sql"].startswith('INSERT INTO "vouchers_voucher"')
    ]
    assert len(inserts) == 4
    assert progress == [3, 3, 3, 1]
    assert Voucher.objects.filter(coupon_type=coupon_type).count() == 10


def test_a_code_collision_draws_that_chunk_again(monkeypatch):
    coupon_type = first_type(claim_campaign(released=1))
    taken = Voucher.objects.get().code
    real = claim_releases.generate_codes
    calls = []

    def colliding(count, **kwargs):
        calls.append(count)
        codes = real(count, **kwargs)
        return [taken, *codes[1:]] if len(calls) == 1 else codes

    monkeypatch.setattr(claim_releases, "generate_codes", colliding)

    release = batch_release(acting_user=None, coupon_type=coupon_type, count=5)

    assert calls == [5, 5]
    assert Voucher.objects.filter(release=release).count() == 5
    assert Voucher.objects.filter(code=taken).count() == 1


def test_releases_go_into_claim_campaigns_only():
    draw = claim_campaign(slug="draw")
    Campaign.objects.filter(pk=draw.pk).update(kind=Campaign.Kind.DRAW)
    draw.refresh_from_db()

    with pytest.raises(WrongCampaignKind):
        batch_release(acting_user=None, coupon_type=first_type(draw), count=5)
    with pytest.raises(InvalidReleaseCount):
        batch_release(
            acting_user=None, coupon_type=first_type(claim_campaign()), count=0
        )
    assert not Release.objects.exists()
    assert not Voucher.objects.exists()


# --- Claims ------------------------------------------------------------------------


def test_a_claim_holds_a_coupon_for_the_customer_for_the_types_hold():
    campaign = claim_campaign(released=3, hold_seconds=300)
    (customer,) = make_customers(1)

    with at(T0):
        claim = claim_take(campaign=campaign, customer=customer)

    voucher = Voucher.objects.get(pk=claim.voucher_id)
    assert voucher.status == Voucher.Status.HELD
    assert voucher.owner == customer
    assert voucher.held_until == T0 + dt.timedelta(seconds=300)
    assert voucher.issued_at == T0
    assert (claim.customer, claim.campaign, claim.day) == (
        customer,
        campaign,
        T0.date(),
    )
    assert claim.held_until == voucher.held_until
    assert _events(voucher) == [("claimed", customer.pk)]
    assert Voucher.objects.filter(status=Voucher.Status.AVAILABLE).count() == 2


def test_one_claim_per_customer_per_local_day_with_retry_after_to_local_midnight():
    campaign = claim_campaign(released=5, tz="Asia/Kolkata")
    (customer,) = make_customers(1)
    tz = zoneinfo.ZoneInfo("Asia/Kolkata")

    with at(dt.datetime(2027, 3, 10, 8, 0, tzinfo=tz)):
        claim_take(campaign=campaign, customer=customer)
    with (
        at(dt.datetime(2027, 3, 10, 23, 59, 30, tzinfo=tz)),
        pytest.raises(AlreadyClaimedToday) as refused,
    ):
        claim_take(campaign=campaign, customer=customer)
    with at(dt.datetime(2027, 3, 11, 0, 0, 1, tzinfo=tz)):
        next_day = claim_take(campaign=campaign, customer=customer)

    assert refused.value.retry_after == 30
    assert next_day.day == dt.date(2027, 3, 11)
    assert Claim.objects.filter(customer=customer).count() == 2


def test_the_daily_rule_holds_without_the_cached_mark(settings):
    campaign = claim_campaign(released=5)
    (customer,) = make_customers(1)
    claim_take(campaign=campaign, customer=customer)
    cache.clear()  # Redis forgot the mark: the database still says no

    with pytest.raises(AlreadyClaimedToday):
        claim_take(campaign=campaign, customer=customer)

    assert Claim.objects.count() == 1
    assert Voucher.objects.filter(status=Voucher.Status.HELD).count() == 1


def test_claims_need_a_running_claim_campaign():
    (customer,) = make_customers(1)
    later = claim_campaign(
        slug="later",
        released=1,
        starts_at=timezone.now() + dt.timedelta(days=1),
        ends_at=timezone.now() + dt.timedelta(days=2),
    )
    draw = claim_campaign(slug="draw", released=1)
    Campaign.objects.filter(pk=draw.pk).update(kind=Campaign.Kind.DRAW)
    draw.refresh_from_db()

    with pytest.raises(NotInActiveTime):
        claim_take(campaign=later, customer=customer)
    with pytest.raises(WrongCampaignKind):
        claim_take(campaign=draw, customer=customer)
    assert not Claim.objects.exists()


def test_sold_out_costs_the_claim_nothing():
    campaign = claim_campaign(released=1)
    first, second = make_customers(2)
    claim_take(campaign=campaign, customer=first)

    with pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=second)

    assert not Claim.objects.filter(customer=second).exists()
    batch_release(acting_user=None, coupon_type=first_type(campaign), count=1)
    assert claim_take(campaign=campaign, customer=second).customer == second


def test_claims_take_coupons_of_every_type():
    campaign = claim_campaign(types=2)
    one, two = campaign.coupon_types.order_by("id")
    batch_release(acting_user=None, coupon_type=one, count=2)
    batch_release(acting_user=None, coupon_type=two, count=2)
    customers = make_customers(4)

    taken = [claim_take(campaign=campaign, customer=c).voucher for c in customers]

    assert len({v.pk for v in taken}) == 4
    assert sorted(v.coupon_type_id for v in taken) == [one.pk, one.pk, two.pk, two.pk]
    assert_pool_invariants()


def test_expired_coupons_are_not_handed_out():
    campaign = claim_campaign()
    coupon_type = first_type(campaign)
    coupon_type.valid_until = T0 + dt.timedelta(hours=1)
    coupon_type.save()
    batch_release(acting_user=None, coupon_type=coupon_type, count=1)
    (customer,) = make_customers(1)

    with at(T0 + dt.timedelta(hours=2)), pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=customer)


# --- The sold-out flag ----------------------------------------------------------------


@pytest.mark.redis
def test_once_sold_out_claims_skip_the_pick(django_assert_num_queries):
    campaign = claim_campaign(released=1)
    first, second, third = make_customers(3)
    claim_take(campaign=campaign, customer=first)
    with pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=second)

    # one indexed lookup: has this customer claimed today? (that answer comes first)
    with django_assert_num_queries(1), pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=third)


@pytest.mark.redis
def test_a_release_voids_the_flag_even_when_it_lands_mid_claim():
    campaign = claim_campaign()
    (customer,) = make_customers(1)
    # A claim read the pool state, found the pool empty in the database…
    seen = claim_services._PoolState.read(campaign.pk, timezone.now())
    # …a release commits before that claim writes its flag…
    batch_release(acting_user=None, coupon_type=first_type(campaign), count=1)
    seen.remember_sold_out(campaign, [first_type(campaign).pk], timezone.now())

    # …and the stale flag is ignored.
    assert claim_take(campaign=campaign, customer=customer).customer == customer


@pytest.mark.redis
def test_the_flag_lapses_when_the_next_hold_runs_out():
    campaign = claim_campaign(released=1, hold_seconds=300)
    first, second = make_customers(2)
    with at(T0):
        claim_take(campaign=campaign, customer=first)
    with at(T0 + dt.timedelta(seconds=10)), pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=second)

    with at(T0 + dt.timedelta(seconds=300)):
        claim = claim_take(campaign=campaign, customer=second)

    assert claim.customer == second


# --- Holds: redeem inside, free after ---------------------------------------------------


def test_the_holder_redeems_inside_the_hold_and_keeps_the_coupon():
    campaign = claim_campaign(released=1, hold_seconds=300)
    holder, other = make_customers(2)
    with at(T0):
        claim = claim_take(campaign=campaign, customer=holder)
    code = claim.voucher.code

    last_moment = T0 + dt.timedelta(seconds=300) - dt.timedelta(microseconds=1)
    with at(last_moment):
        redeemed = voucher_redeem(code=code, customer=holder)
    with at(T0 + dt.timedelta(hours=1)):
        with pytest.raises(SoldOut):
            claim_take(campaign=campaign, customer=other)
        swept = holds_release_expired()

    assert swept == 0

    assert redeemed.status == Voucher.Status.REDEEMED
    assert redeemed.owner == holder
    assert _events(redeemed) == [("claimed", holder.pk), ("redeemed", holder.pk)]


def test_at_the_end_of_the_hold_the_coupon_goes_to_the_next_claimer_without_a_job():
    campaign = claim_campaign(released=1, hold_seconds=300)
    holder, early, late = make_customers(3)
    with at(T0):
        first = claim_take(campaign=campaign, customer=holder)
    end = T0 + dt.timedelta(seconds=300)

    with at(end - dt.timedelta(microseconds=1)), pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=early)
    with at(end):
        with pytest.raises(HoldExpired):
            voucher_redeem(code=first.voucher.code, customer=holder)
        second = claim_take(campaign=campaign, customer=late)

    voucher = Voucher.objects.get()
    assert second.voucher_id == first.voucher_id == voucher.pk
    assert (voucher.owner, voucher.held_until) == (late, end + dt.timedelta(minutes=5))
    assert _events(voucher) == [
        ("claimed", holder.pk),
        ("expired", holder.pk),
        ("claimed", late.pk),
    ]
    assert_pool_invariants()
    with at(end + dt.timedelta(seconds=1)):
        with pytest.raises(HoldExpired):  # the same answer once someone else has it
            voucher_redeem(code=first.voucher.code, customer=holder)
        assert voucher_redeem(code=voucher.code, customer=late).owner == late


def test_the_sweeper_returns_lapsed_holds_to_the_pool_once():
    campaign = claim_campaign(released=2, hold_seconds=300)
    holder, running, late = make_customers(3)
    with at(T0):
        lapsing = claim_take(campaign=campaign, customer=holder).voucher
    with at(T0 + dt.timedelta(seconds=100)):
        claim_take(campaign=campaign, customer=running)

    end = T0 + dt.timedelta(seconds=300)
    with at(end - dt.timedelta(microseconds=1)):
        assert holds_release_expired() == 0
    with at(end):
        first_run = holds_release_expired()
        events_after_first = VoucherEvent.objects.count()
        second_run = holds_release_expired()

    assert (first_run, second_run) == (1, 0)
    assert VoucherEvent.objects.count() == events_after_first
    swept = Voucher.objects.get(pk=lapsing.pk)
    assert (swept.status, swept.owner, swept.held_until) == ("available", None, None)
    assert _events(swept) == [("claimed", holder.pk), ("expired", holder.pk)]
    assert Voucher.objects.filter(status=Voucher.Status.HELD).count() == 1

    with at(end + dt.timedelta(seconds=1)):
        retaken = claim_take(campaign=campaign, customer=late)
    assert retaken.voucher_id == lapsing.pk
    assert _events(swept)[-1] == ("claimed", late.pk)  # no second expiry recorded
    assert_pool_invariants()


def test_a_redemption_racing_a_reclaim_never_redeems_the_new_holders_coupon(
    monkeypatch,
):
    """The holder looked the coupon up just before the hold ran out; by the time
    the redeem's UPDATE runs, another customer has claimed it."""
    campaign = claim_campaign(released=1, hold_seconds=300)
    holder, late = make_customers(2)
    with at(T0):
        code = claim_take(campaign=campaign, customer=holder).voucher.code
    real_get = voucher_selectors.voucher_get

    def get_then_lose_the_hold(**kwargs):
        voucher = real_get(**kwargs)
        with at(T0 + dt.timedelta(seconds=300)):
            claim_take(campaign=campaign, customer=late)
        return voucher

    monkeypatch.setattr(voucher_selectors, "voucher_get", get_then_lose_the_hold)

    with at(T0 + dt.timedelta(seconds=299)), pytest.raises(HoldExpired):
        voucher_redeem(code=code, customer=holder)

    voucher = Voucher.objects.get()
    assert (voucher.status, voucher.owner) == ("held", late)
    assert not VoucherEvent.objects.filter(kind=VoucherEvent.Kind.REDEEMED).exists()


# --- Redis down ------------------------------------------------------------------------


def test_with_redis_down_claims_are_still_right(redis_down):
    campaign = claim_campaign(released=2)
    one, two, three = make_customers(3)

    assert claim_take(campaign=campaign, customer=one).customer == one
    with pytest.raises(AlreadyClaimedToday):
        claim_take(campaign=campaign, customer=one)
    assert claim_take(campaign=campaign, customer=two).customer == two
    with pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=three)
    with pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=three)
    batch_release(acting_user=None, coupon_type=first_type(campaign), count=1)

    assert claim_take(campaign=campaign, customer=three).customer == three
    assert_pool_invariants()
