"""Grabs: the Redis fast path, the Postgres path, and the write both end with."""

import datetime as dt
import logging
import math

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from redis import Redis
from redis.exceptions import MaxConnectionsError

from campaigns.models import Campaign, CouponType
from campaigns.schedule import RushCycle
from couponsite import metrics
from couponsite.redis_client import REDIS_ERRORS
from customers.models import Customer
from customers.services.blocking import customer_blocked_check, customer_may_take_part
from draws.opening import NotInActiveTime
from draws.pool import pool_pick
from draws.rush.models import Grab, Reservation
from draws.rush.services.common import (
    GRAB_ATTEMPTS,
    STALE_PENDING_SECONDS,
    AlreadyReceived,
    NotReservation,
    SoldOut,
    local,
    require_rush,
    rush_coupon_type,
    rush_cycle_at,
)
from draws.rush.services.final import final_day_learn
from draws.rush.services.redis_state import (
    GRAB_SCRIPT,
    RushKeys,
    ms,
    settle,
    warm_lazily,
)
from draws.rush.services.sold_out import rush_sold_out_soon, rush_sold_out_tell
from vouchers.models import Voucher
from vouchers.webhook_payloads import voucher_payload
from webhooks.events import EventType
from webhooks.services import emit

logger = logging.getLogger(__name__)


def _grab_write(
    *,
    campaign: Campaign,
    coupon_type: CouponType,
    customer: Customer,
    day: dt.date,
    reservation_id: int,
    voucher_id: int,
    via: str,
    now: dt.datetime,
) -> Grab | None:
    """Give the free coupon ``voucher_id`` to ``customer`` (caller's transaction).

    ``None`` when the coupon is not free any more (the conditional UPDATE
    matched nothing); ``ALREADY_RECEIVED`` when the customer has a grab today
    (the unique constraint), which must roll the transaction back.
    """
    customer_blocked_check(customer.pk)
    taken = Voucher.objects.filter(
        pk=voucher_id, campaign=campaign, status=Voucher.Status.AVAILABLE
    ).update(
        status=Voucher.Status.ISSUED,
        owner=customer,
        email=customer.email or "",
        issued_at=now,
        expires_at=coupon_type.expiry_from(now),
    )
    if not taken:
        return None
    try:
        grab = Grab.objects.create(
            reservation_id=reservation_id,
            campaign=campaign,
            customer=customer,
            day=day,
            voucher_id=voucher_id,
            via=via,
            created_at=now,
        )
    except IntegrityError:
        raise AlreadyReceived() from None
    voucher = Voucher.objects.get(pk=voucher_id)
    voucher.campaign, voucher.coupon_type = campaign, coupon_type
    grab.voucher = voucher
    emit(EventType.VOUCHER_ISSUED, lambda: voucher_payload(voucher), now=now)
    rush_sold_out_soon(campaign, day)
    metrics.count_on_commit(metrics.GRABS_WON)
    return grab


def _has_grabbed(campaign: Campaign, day: dt.date, customer: Customer) -> bool:
    return Grab.objects.filter(campaign=campaign, day=day, customer=customer).exists()


def _grab_redis(
    redis: Redis,
    *,
    campaign: Campaign,
    cycle: RushCycle,
    customer: Customer,
    now: dt.datetime,
) -> Grab | None:
    """The fast path; ``None`` sends this grab to Postgres."""
    day = cycle.day
    keys = RushKeys(campaign.pk, day)
    warmed = False
    for _attempt in range(GRAB_ATTEMPTS):
        reply = GRAB_SCRIPT(
            keys=keys.grab(),
            args=[customer.pk, ms(now), STALE_PENDING_SECONDS * 1000],
            client=redis,
        )
        outcome = reply[0].decode()
        if outcome == "COLD":
            if warmed or not warm_lazily(redis, campaign, cycle, now):
                return None
            warmed = True
            continue
        if outcome == "NOT_RESERVATION":
            raise NotReservation()
        if outcome == "ALREADY_RECEIVED":
            if reply[1] == 1:
                local.remember_received(campaign.pk, day, customer.pk)
            raise AlreadyReceived()
        if outcome == "SOLD_OUT":
            if reply[1] == 1 and _has_grabbed(campaign, day, customer):
                # A coupon in flight is being settled as this customer's (Redis
                # offered it again after a grab through Postgres took it).
                local.remember_received(campaign.pk, day, customer.pk)
                raise AlreadyReceived()
            final_day_learn(campaign, day, now)
            rush_sold_out_tell(campaign, day)
            raise SoldOut()

        voucher_id, reservation_id = int(reply[1]), int(reply[2])
        try:
            with transaction.atomic():
                grab = _grab_write(
                    campaign=campaign,
                    coupon_type=rush_coupon_type(campaign),
                    customer=customer,
                    day=day,
                    reservation_id=reservation_id,
                    voucher_id=voucher_id,
                    via=Grab.Via.REDIS,
                    now=now,
                )
        except AlreadyReceived:
            holds = (
                Grab.objects.filter(campaign=campaign, customer=customer, day=day)
                .values_list("voucher_id", flat=True)
                .first()
            )
            settle(redis, keys, customer.pk, voucher_id, "back", holds or "")
            local.remember_received(campaign.pk, day, customer.pk)
            raise
        except BaseException:
            settle(redis, keys, customer.pk, voucher_id, "back")
            raise
        if grab is None:
            # Given away outside Redis (a grab through Postgres, or a request
            # Redis gave up on that committed after all): Redis learns who has
            # it, so that customer is told ALREADY_RECEIVED, never SOLD_OUT.
            holder = (
                Grab.objects.filter(voucher_id=voucher_id)
                .values_list("customer_id", flat=True)
                .first()
            )
            settle(redis, keys, customer.pk, voucher_id, "gone", gone_to=holder or "")
            continue

        def settled(customer_id=customer.pk, voucher_id=voucher_id):
            local.remember_received(campaign.pk, day, customer_id)
            settle(redis, keys, customer_id, voucher_id, "kept")

        transaction.on_commit(settled)
        return grab
    return None


def _pool_pick(*, coupon_type_id: int, release_id: int) -> int | None:
    """Lock one of the day's free coupons (its id), or ``None`` when there is none.

    Spread over the day's release, whose ids are fixed once the rush opens: a
    process reads their range once (the query may walk much of the primary
    key). When every free coupon is locked by grabs in flight, wait for them:
    one may roll back, and "sold out" must be exact (``draws.pool.pool_pick``).
    """
    return pool_pick(
        Voucher.objects.filter(
            coupon_type_id=coupon_type_id,
            release_id=release_id,
            status=Voucher.Status.AVAILABLE,
        ).values_list("id", flat=True),
        spread_over=Voucher.objects.filter(release_id=release_id),
        range_key=f"rush:release:{release_id}",
        range_seconds=math.inf,
        wait=True,
    )


def _grab_postgres(
    *, campaign: Campaign, day: dt.date, customer: Customer, now: dt.datetime
) -> Grab:
    """The same rules decided by Postgres alone (Redis down or still loading)."""
    found = (
        Reservation.objects.filter(campaign=campaign, day=day, customer=customer)
        .values_list("id", "grab__voucher_id", "rush_day__release_id")
        .first()
    )
    if found is None:
        raise NotReservation()
    reservation_id, holds, release_id = found
    if holds is not None:
        local.remember_received(campaign.pk, day, customer.pk)
        raise AlreadyReceived()
    coupon_type = rush_coupon_type(campaign)
    with transaction.atomic():
        voucher_id = _pool_pick(coupon_type_id=coupon_type.pk, release_id=release_id)
        if voucher_id is not None:
            grab = _grab_write(
                campaign=campaign,
                coupon_type=coupon_type,
                customer=customer,
                day=day,
                reservation_id=reservation_id,
                voucher_id=voucher_id,
                via=Grab.Via.POSTGRES,
                now=now,
            )
            if grab is None:  # locked and free a moment ago: cannot happen
                raise AssertionError(f"voucher {voucher_id} changed under its lock")
    if voucher_id is None:
        # The pick waited for grabs in flight; one of them may have been this
        # customer's own (a double submit), which took the last coupon.
        if _has_grabbed(campaign, day, customer):
            local.remember_received(campaign.pk, day, customer.pk)
            raise AlreadyReceived()
        final_day_learn(campaign, day, now)  # outside the pick's transaction
        rush_sold_out_tell(campaign, day)
        raise SoldOut()
    transaction.on_commit(
        lambda: local.remember_received(campaign.pk, day, customer.pk)
    )
    return grab


def rush_grab(
    *, campaign: Campaign, customer: Customer, now: dt.datetime | None = None
) -> Grab:
    """Grab one of the day's coupons for ``customer``, first come first served.

    - A blocked customer is refused first (``CUSTOMER_BLOCKED``), and again
      by their row in the grab's transaction (a coupon Redis offered goes back).
    - Only a running rush campaign, inside its rush window (``NOT_IN_ACTIVE_TIME``).
    - Only a customer who reserved for the day (``NOT_RESERVATION``).
    - One coupon per customer and day (``ALREADY_RECEIVED``): the unique
      constraint on ``Grab`` decides.
    - Never more than the day's coupons, and none left while someone asks:
      each coupon goes to the one grab whose conditional UPDATE finds it free
      (``SOLD_OUT`` when none is).
    - The checks answer in this order on every path (process memory, the Lua
      script, Postgres): window, reservation, already received, sold out.
      Process memory answers only what cannot change any more: a customer who
      received, and every answer of a day that is sold out for good.
    - The grab is committed when this returns (inside the caller's
      transaction, if any).
    """
    try:
        return _grab(campaign=campaign, customer=customer, now=now or timezone.now())
    except SoldOut:
        metrics.GRABS_SOLD_OUT.inc()
        raise


def _grab(*, campaign: Campaign, customer: Customer, now: dt.datetime) -> Grab:
    customer_may_take_part(customer)
    require_rush(campaign)
    cycle = rush_cycle_at(campaign, now)
    if not (campaign.is_running(now) and cycle and cycle.in_rush(now)):
        raise NotInActiveTime(_("The rush is not on right now."))
    day = cycle.day
    if local.has_received(campaign.pk, day, customer.pk):
        raise AlreadyReceived()  # received implies reserved: the order holds
    final = local.final_day(campaign.pk, day)
    if final is not None:
        raise final.refusal(customer.pk)
    redis = local.redis()
    if redis is not None:
        try:
            grab = _grab_redis(
                redis, campaign=campaign, cycle=cycle, customer=customer, now=now
            )
        except MaxConnectionsError:
            # This process's pool is busy, Redis is fine: only this grab goes around.
            logger.warning("rush: Redis pool exhausted, grabbing from Postgres")
        except REDIS_ERRORS:
            local.redis_failed()
            metrics.redis_fallback("rush")
            logger.warning(
                "rush: Redis unavailable, grabbing from Postgres", exc_info=True
            )
        else:
            if grab is not None:
                return grab
    return _grab_postgres(campaign=campaign, day=day, customer=customer, now=now)
