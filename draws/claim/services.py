"""Claim and hold (seed 002): one claim a day, holds that lapse.

- Employees release batches of coupons of a coupon type into the pool
  (``draws.claim.releases``); each release voids the "sold out" flag below.
- A customer claims one coupon per campaign per local day (``claim_take``): the
  unique constraint on ``Claim`` decides. The claim picks a free coupon with
  ``SELECT … FOR UPDATE SKIP LOCKED`` (so claimers never queue behind one row)
  and holds it for the customer for the coupon type's ``hold_seconds``.
- A hold that runs out needs no job: claims treat it as free. The sweeper
  (``holds_release_expired``) only tidies such coupons back to ``available``
  and records each expiry.
- Redis remembers "sold out" per campaign so a drained pool answers without
  the database; the flag carries the pool generation it saw, so a release
  (which bumps the generation) voids it even if it lands mid-claim.
"""

import datetime as dt
import logging
import math
import random
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CouponType
from couponsite import metrics
from couponsite.errors import DomainError
from couponsite.redis_client import REDIS_ERRORS, get_redis, redis_key
from customers.models import Customer
from customers.services.blocking import customer_blocked_check, customer_may_take_part
from draws.claim.models import Claim
from draws.daily_marks import done_today, remember_done_today
from draws.opening import open_today
from draws.pool import pool_forget_id_range, pool_pick
from vouchers.models import Voucher, VoucherEvent
from webhooks.events import EventType
from webhooks.services import emit, emit_many

logger = logging.getLogger(__name__)

# Lapsed holds tidied per sweeper transaction.
SWEEP_BATCH_SIZE = 1_000
# A "sold out" answer from Redis is trusted at most this long before the
# database is asked again, so a flag can never outlive a lost invalidation.
SOLD_OUT_FLAG_MAX_SECONDS = 60

POOL_STATUSES = [Voucher.Status.AVAILABLE, Voucher.Status.HELD]

_rng = random.SystemRandom()


class AlreadyClaimedToday(DomainError):
    # Raised with retry_after: the seconds to the campaign's local midnight.
    code = "ALREADY_CLAIMED_TODAY"
    detail = _(
        "You already claimed a coupon in this campaign today; come back after midnight."
    )
    sends_retry_after = True


class SoldOut(DomainError):
    code = "SOLD_OUT"
    detail = _(
        "No coupon is free right now; held coupons come back when their hold runs out."
    )


# --- Claims --------------------------------------------------------------------------


def claim_take(
    *, campaign: Campaign, customer: Customer, now: dt.datetime | None = None
) -> Claim:
    """Hold one free coupon of ``campaign`` for ``customer``; once per local day.

    - A blocked customer is refused first (``CUSTOMER_BLOCKED``), and again
      by their row in the claim's transaction (``customers.services.blocking``).
    - The campaign must be a running claim campaign (``WRONG_CAMPAIGN_KIND``,
      ``NOT_IN_ACTIVE_TIME``).
    - Once per customer, campaign and local day: the unique constraint on
      ``Claim`` decides (``ALREADY_CLAIMED_TODAY``, 429, ``Retry-After`` to the
      campaign's local midnight); a cached mark answers repeats without the
      database.
    - The coupon is available, or held with the hold run out; it is locked with
      ``FOR UPDATE SKIP LOCKED`` (parallel claimers take different rows) and
      held until now + the type's ``hold_seconds``: one holder at any moment.
    - Nothing free: ``SOLD_OUT``, remembered in Redis until the next hold runs
      out or a release, so further claims skip the pick.
    - The answers come in this order: not running, already claimed today, sold
      out. A ``SOLD_OUT`` (from the Redis flag or an empty pick) is only given
      after the database said there is no claim of the customer's today (one
      indexed ``EXISTS``), so a repeat is ``ALREADY_CLAIMED_TODAY`` with or
      without Redis and its marks.
    """
    customer_may_take_part(customer)
    now = now or timezone.now()
    today = open_today(campaign, Campaign.Kind.CLAIM, now)
    day, retry_after = today.day, today.seconds_left
    if done_today(
        action="claimed", campaign=campaign, customer_id=customer.pk, day=day
    ):
        raise AlreadyClaimedToday(retry_after=retry_after)
    pool = _PoolState.read(campaign.pk, now)
    if pool.sold_out:
        raise _sold_out_unless_claimed(campaign, customer, day, now, retry_after)

    coupon_types = list(CouponType.objects.filter(campaign=campaign))
    with transaction.atomic():
        customer_blocked_check(customer.pk)
        picked = _pick(coupon_types, now)
        if picked is not None:
            voucher, coupon_type = picked
            claim = _hold(
                campaign=campaign,
                customer=customer,
                voucher=voucher,
                coupon_type=coupon_type,
                day=day,
                now=now,
                retry_after=retry_after,
            )
            metrics.count_on_commit(metrics.CLAIMS)
            transaction.on_commit(
                lambda: _remember_claimed(campaign, customer, day, now)
            )
    if picked is None:
        pool.remember_sold_out(campaign, [t.pk for t in coupon_types], now)
        raise _sold_out_unless_claimed(campaign, customer, day, now, retry_after)
    return claim


def _sold_out_unless_claimed(
    campaign: Campaign,
    customer: Customer,
    day: dt.date,
    now: dt.datetime,
    retry_after: float,
) -> AlreadyClaimedToday | SoldOut:
    """What an empty pool answers: a customer who claimed today hears that first.

    The claim row is otherwise only met when its insert fails, which an empty
    pool never reaches; without this a lost "claimed today" mark (Redis down,
    flushed, evicted) would turn a repeat into ``SOLD_OUT``.
    """
    if Claim.objects.filter(customer=customer, campaign=campaign, day=day).exists():
        _remember_claimed(campaign, customer, day, now)
        return AlreadyClaimedToday(retry_after=retry_after)
    return SoldOut()


def _hold(
    *,
    campaign: Campaign,
    customer: Customer,
    voucher: Voucher,
    coupon_type: CouponType,
    day: dt.date,
    now: dt.datetime,
    retry_after: float,
) -> Claim:
    """Inside the claim's transaction, with ``voucher`` locked: record and hold it."""
    held_until = now + dt.timedelta(seconds=max(1, coupon_type.hold_seconds))
    lapsed = voucher.status == Voucher.Status.HELD  # its last holder let it run out
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                customer=customer,
                campaign=campaign,
                day=day,
                voucher=voucher,
                held_until=held_until,
                created_at=now,
            )
    except IntegrityError:
        _remember_claimed(campaign, customer, day, now)
        raise AlreadyClaimedToday(retry_after=retry_after) from None

    events = []
    if lapsed:
        emit(
            EventType.CLAIM_LAPSED,
            lapsed_payload(
                voucher_id=voucher.pk,
                code=voucher.code,
                campaign=campaign.slug,
                customer_id=voucher.owner_id,
                held_until=voucher.held_until,
            ),
            now=now,
        )
        events.append(
            VoucherEvent(
                voucher=voucher,
                kind=VoucherEvent.Kind.EXPIRED,
                campaign=campaign,
                customer_id=voucher.owner_id,
                reason="Hold ran out; the coupon was claimed again.",
                data={"held_until": voucher.held_until.isoformat()},
                created_at=now,
            )
        )
    Voucher.objects.filter(pk=voucher.pk).update(
        status=Voucher.Status.HELD,
        owner=customer,
        email=customer.email or "",
        held_until=held_until,
        issued_at=now,
    )
    events.append(
        VoucherEvent(
            voucher=voucher,
            kind=VoucherEvent.Kind.CLAIMED,
            campaign=campaign,
            customer=customer,
            data={"claim": claim.pk, "held_until": held_until.isoformat()},
            created_at=now,
        )
    )
    VoucherEvent.objects.bulk_create(events)

    voucher.status = Voucher.Status.HELD
    voucher.owner = customer
    voucher.email = customer.email or ""
    voucher.held_until = held_until
    voucher.issued_at = now
    voucher.campaign = campaign
    voucher.coupon_type = coupon_type
    claim.voucher = voucher
    return claim


def _pick(
    coupon_types: list[CouponType], now: dt.datetime
) -> tuple[Voucher, CouponType] | None:
    """Lock one free coupon of any of the types (tried in random order)."""
    for coupon_type in _rng.sample(coupon_types, len(coupon_types)):
        voucher = _pick_of_type(coupon_type.pk, now)
        if voucher is not None:
            return voucher, coupon_type
    return None


def _pick_of_type(coupon_type_id: int, now: dt.datetime) -> Voucher | None:
    """Lock one free coupon of the type: available, or held with the hold run out.

    Spread over the type's pool (available and held coupons: the rows of the
    partial index ``voucher_pool_pick``); coupons other claims have locked are
    skipped, never waited for (``draws.pool.pool_pick``).
    """
    return pool_pick(
        Voucher.objects.claimable(now)
        .filter(coupon_type_id=coupon_type_id, status__in=POOL_STATUSES)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)),
        spread_over=Voucher.objects.filter(
            coupon_type_id=coupon_type_id, status__in=POOL_STATUSES
        ),
        range_key=claim_range_key(coupon_type_id),
    )


def claim_range_key(coupon_type_id: int) -> str:
    """The key of a type's pool range in ``draws.pool`` (the thin path's batch
    picker, ``draws.claim.group_commit``, shares this process's guess)."""
    return f"claim:coupon_type:{coupon_type_id}"


def _remember_claimed(
    campaign: Campaign, customer: Customer, day: dt.date, now: dt.datetime
) -> None:
    remember_done_today(
        action="claimed", campaign=campaign, customer_id=customer.pk, day=day, now=now
    )


# --- The "sold out" flag -------------------------------------------------------------


def _generation_key(campaign_id: int) -> str:
    return redis_key("claim", f"{{{campaign_id}}}", "generation")


def _sold_out_key(campaign_id: int) -> str:
    return redis_key("claim", f"{{{campaign_id}}}", "sold_out")


def sold_out_flag_keys(campaign_id: int) -> tuple[str, str]:
    """The pool's generation and sold-out flag keys, which ``_PoolState`` reads
    (and the thin path's gate, ``draws.claim.thin``, with the same rule)."""
    return _generation_key(campaign_id), _sold_out_key(campaign_id)


@dataclass
class _PoolState:
    """What Redis knows of a campaign's pool, read in one round trip.

    ``sold_out`` holds when the flag names the current pool generation and its
    deadline (the next hold to run out, at most a minute away) is still ahead.
    ``reachable`` is False when Redis is not configured or did not answer: the
    database then decides every claim and nothing is written to Redis.
    """

    reachable: bool
    now: dt.datetime
    generation: bytes = b"0"
    flag: bytes | None = None

    @classmethod
    def read(cls, campaign_id: int, now: dt.datetime) -> "_PoolState":
        redis = get_redis()
        if redis is None:
            return cls(reachable=False, now=now)
        try:
            generation, flag = redis.mget(
                _generation_key(campaign_id), _sold_out_key(campaign_id)
            )
        except REDIS_ERRORS:
            metrics.redis_fallback("claim")
            logger.warning("sold-out flag skipped: Redis unavailable", exc_info=True)
            return cls(reachable=False, now=now)
        return cls(reachable=True, now=now, generation=generation or b"0", flag=flag)

    @property
    def sold_out(self) -> bool:
        if not self.reachable or self.flag is None:
            return False
        until, _, generation = self.flag.partition(b"@")
        return generation == self.generation and float(until) > self.now.timestamp()

    def remember_sold_out(
        self, campaign: Campaign, coupon_type_ids: list[int], now: dt.datetime
    ) -> None:
        """Flag the pool sold out until its next hold runs out (or a minute)."""
        if not self.reachable:
            return
        next_free = Voucher.objects.filter(
            coupon_type_id__in=coupon_type_ids,
            status=Voucher.Status.HELD,
            held_until__gt=now,
        ).aggregate(at=Min("held_until"))["at"]
        until = min(
            now + dt.timedelta(seconds=SOLD_OUT_FLAG_MAX_SECONDS),
            next_free or campaign.ends_at,
            campaign.ends_at,
        )
        ttl_ms = max(1, math.ceil((until - now).total_seconds() * 1000))
        value = f"{until.timestamp():.6f}@".encode() + self.generation
        try:
            get_redis().set(_sold_out_key(campaign.pk), value, px=ttl_ms)
        except REDIS_ERRORS:
            metrics.redis_fallback("claim")
            logger.warning("sold-out flag not set: Redis unavailable", exc_info=True)


def pool_changed(campaign_id: int, coupon_type_id: int) -> None:
    """Coupons were added: void the sold-out flag and this process's id range guess."""
    pool_forget_id_range(claim_range_key(coupon_type_id))
    redis = get_redis()
    if redis is None:
        return
    try:
        redis.incr(_generation_key(campaign_id))
    except REDIS_ERRORS:
        metrics.redis_fallback("claim")
        # The flag, if any, lapses by itself within SOLD_OUT_FLAG_MAX_SECONDS.
        logger.warning("sold-out flag not voided: Redis unavailable", exc_info=True)


# --- Hold expiry ----------------------------------------------------------------------


def lapsed_payload(
    *, voucher_id: int, code: str, campaign: str, customer_id, held_until
) -> dict:
    """What the ``claim.lapsed`` webhook tells: the coupon whose hold ran out,
    and whose it was."""
    return {
        "voucher": {"id": voucher_id, "code": code},
        "campaign": campaign,
        "customer_id": customer_id,
        "held_until": held_until,
    }


def _campaign_slugs():
    """Campaign slugs by id, each read once (only when a payload is made)."""
    known: dict[int, str] = {}

    def slug(campaign_id: int) -> str:
        if campaign_id not in known:
            known[campaign_id] = Campaign.objects.values_list("slug", flat=True).get(
                pk=campaign_id
            )
        return known[campaign_id]

    return slug


def holds_release_expired(
    *, now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE
) -> int:
    """Return coupons whose hold ran out to the pool, recording each expiry.

    Claims already treat a lapsed hold as free, so nothing depends on this
    running; it tidies (status ``available``, holder cleared) and writes the
    ``EXPIRED`` history. Idempotent: only rows still held past their deadline
    are touched, under a row lock that skips coupons a claim is taking right
    now. Returns how many holds it released.
    """
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            lapsed = list(
                Voucher.objects.filter(status=Voucher.Status.HELD, held_until__lte=now)
                .order_by("id")
                .select_for_update(skip_locked=True)
                .values_list("id", "campaign_id", "owner_id", "held_until", "code")[
                    :batch_size
                ]
            )
            if not lapsed:
                return released
            Voucher.objects.filter(
                pk__in=[row[0] for row in lapsed],
                status=Voucher.Status.HELD,
                held_until__lte=now,
            ).update(
                status=Voucher.Status.AVAILABLE,
                owner=None,
                email="",
                held_until=None,
                issued_at=None,
            )
            VoucherEvent.objects.bulk_create(
                VoucherEvent(
                    voucher_id=voucher_id,
                    kind=VoucherEvent.Kind.EXPIRED,
                    campaign_id=campaign_id,
                    customer_id=owner_id,
                    reason="Hold ran out; back in the pool.",
                    data={"held_until": held_until.isoformat()},
                    created_at=now,
                )
                for voucher_id, campaign_id, owner_id, held_until, _ in lapsed
            )
            slugs = _campaign_slugs()
            emit_many(
                EventType.CLAIM_LAPSED,
                [
                    lambda row=row: lapsed_payload(
                        voucher_id=row[0],
                        code=row[4],
                        campaign=slugs(row[1]),  # noqa: B023 - used in this batch
                        customer_id=row[2],
                        held_until=row[3],
                    )
                    for row in lapsed
                ],
                now=now,
            )
            released += len(lapsed)
