"""The flash-sale rush (seed 003): reserve in a window, then grab in a one-minute rush.

Each local day a rush campaign opens a reservation window and then a rush
window (``campaigns.schedule``). The day's coupons are floor(reservations *
ratio), one per five reservations at the default 20%.

- **Reserve**: inside the reservation window, once per customer and day (unique
  constraint). The day's counter row (``RushDay``) numbers reservations with one
  ``UPDATE … RETURNING`` in the reservation's transaction, so numbers have no
  gaps, and keeps ``coupons`` at floor(reservations * ratio) in the same
  statement (a check constraint holds it). A coupon is made the moment a
  reservation earns it (every fifth), as seed 003 does: the work is spread
  over the reservation window instead of landing at the instant the rush
  opens, and the stock is complete, in Postgres, before anyone may grab.
- **Grab**: inside the rush window, only by a customer who reserved that day,
  once, first come first served. The fast path is one Lua script in Redis
  (``draws/lua/grab.lua``) that checks the reservation and the customers
  already served and pops a coupon, all at once; the grab is then written to
  Postgres in the same request (voucher issued with a conditional UPDATE, a
  ``Grab`` row unique per customer and day), so a ``201`` means it is
  committed. If that write fails the coupon goes back (``settle.lua``). Popped
  coupons sit in a ledger until settled; one whose request died is handed on
  after ``STALE_PENDING_SECONDS``.
- Postgres is the truth and Redis a copy of it: the day's Redis state is built
  from Postgres when the rush opens (``rush_warm``: by ``manage.py warm_rush``
  or lazily by the first grab) and again whenever Redis has lost it. Every
  disagreement heals itself, because Postgres decides each grab: a coupon
  Redis offers that Postgres has already given away is dropped, a customer
  Redis forgot who already holds one is told so.
- With Redis down, grabs are decided by Postgres alone: a random-start
  ``SELECT … FOR UPDATE SKIP LOCKED`` on the day's free coupons, then the same
  write, exact as well.
- Answers that need nothing new (sold out, already received) come from flags
  this process keeps for a moment, else from the one Lua call: no database.
"""

import datetime as dt
import itertools
import logging
import random
import secrets
import time
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from redis import Redis
from redis.commands.core import Script
from redis.exceptions import MaxConnectionsError
from rest_framework import status

from campaigns.models import Campaign, CouponType, Release
from campaigns.schedule import RushCycle, RushWindows
from campaigns.services import NotInActiveTime, WrongCampaignKind
from couponsite.api.exceptions import DomainError
from couponsite.redis_client import REDIS_ERRORS, get_redis
from customers.models import Customer
from draws.models import Grab, Reservation, RushDay
from vouchers.codes import generate_code
from vouchers.models import Voucher
from vouchers.services import with_unique_codes

logger = logging.getLogger(__name__)

# A popped coupon not settled after this long belongs to a request that died.
STALE_PENDING_SECONDS = 15
# How long this process trusts a "sold out" it saw (a failed write may put one back).
LOCAL_SOLD_OUT_SECONDS = 1.0
# How long this process remembers a customer who holds today's coupon (seed 003: 2 min).
LOCAL_RECEIVED_SECONDS = 120.0
LOCAL_RECEIVED_MAX = 200_000
# After a Redis error, go straight to Postgres for this long.
REDIS_BACKOFF_SECONDS = 5.0
# Campaign rows and coupon types read by grabs are reused this long.
CAMPAIGN_CACHE_SECONDS = 5.0
WARM_LOCK_SECONDS = 10
# Redis keys of a day outlive its rush by this long.
KEYS_LINGER_SECONDS = 3600
# Coupons Redis offers that Postgres has given away are skipped, this many at most.
GRAB_ATTEMPTS = 10

_rng = random.SystemRandom()


class DuplicatedReservation(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "ERROR_DUPLICATED_RESERVATION"
    detail = "You have already reserved for today's rush."


class NotReservation(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "NOT_RESERVATION"
    detail = "Only customers who reserved for today's rush may grab."


class AlreadyReceived(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "ALREADY_RECEIVED"
    detail = "You already have a coupon from today's rush."


class SoldOut(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "SOLD_OUT"
    detail = "Today's coupons are all gone."


class RushNotConfigured(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "RUSH_NOT_CONFIGURED"
    detail = "This rush has no coupon type to hand out."


class ReservationsStillOpen(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "RESERVATIONS_STILL_OPEN"
    detail = "That day's reservations are still open; its rush cannot be loaded yet."


# --- Arithmetic and schedule ---------------------------------------------------------


def ratio_per_10000(ratio: Decimal) -> int:
    """The campaign's ratio (four decimals, 0 to 1) as coupons per 10,000 reservations."""
    return int((Decimal(ratio) * 10000).to_integral_value(rounding=ROUND_FLOOR))


def coupons_for(reservations: int, coupons_per_10000: int) -> int:
    """floor(reservations * ratio), in integers (as the database computes it)."""
    return reservations * coupons_per_10000 // 10000


def rush_cycle_at(campaign: Campaign, now: dt.datetime) -> RushCycle | None:
    """The campaign's daily cycle running at ``now`` (reservation to rush end), if any."""
    return RushWindows.of(campaign).cycle_at(campaign.tz, now)


def _require_rush(campaign: Campaign) -> None:
    if campaign.kind != Campaign.Kind.RUSH:
        raise WrongCampaignKind("This campaign is not a flash-sale rush.")


# --- What this process remembers -----------------------------------------------------


class _LocalState:
    """Flags and small caches of this process, each trusted only for a short while."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.sold_out_until: dict[tuple[int, dt.date], float] = {}
        self.received_until: dict[tuple[int, dt.date, int], float] = {}
        self.redis_skipped_until = 0.0
        self.campaigns: dict[str, tuple[float, Campaign]] = {}
        self.coupon_types: dict[int, tuple[float, CouponType]] = {}
        self.id_ranges: dict[int, tuple[int, int] | None] = {}

    def is_sold_out(self, campaign_id: int, day: dt.date) -> bool:
        return self.sold_out_until.get((campaign_id, day), 0) > time.monotonic()

    def remember_sold_out(self, campaign_id: int, day: dt.date) -> None:
        self.sold_out_until[(campaign_id, day)] = (
            time.monotonic() + LOCAL_SOLD_OUT_SECONDS
        )

    def has_received(self, campaign_id: int, day: dt.date, customer_id: int) -> bool:
        key = (campaign_id, day, customer_id)
        return self.received_until.get(key, 0) > time.monotonic()

    def remember_received(
        self, campaign_id: int, day: dt.date, customer_id: int
    ) -> None:
        now = time.monotonic()
        if len(self.received_until) >= LOCAL_RECEIVED_MAX:
            self.received_until = {
                key: until for key, until in self.received_until.items() if until > now
            }
        self.received_until[(campaign_id, day, customer_id)] = (
            now + LOCAL_RECEIVED_SECONDS
        )

    def redis(self) -> Redis | None:
        if self.redis_skipped_until > time.monotonic():
            return None
        return get_redis()

    def redis_failed(self) -> None:
        self.redis_skipped_until = time.monotonic() + REDIS_BACKOFF_SECONDS


_local = _LocalState()


def rush_local_state_clear() -> None:
    """Forget every flag and cache of this process (tests; a deploy does it anyway)."""
    _local.clear()


def rush_campaign_cached(slug: str, load) -> Campaign:
    """The campaign ``load()`` finds for ``slug``, reused for a few seconds.

    A grab must not cost a database query: a paused or edited campaign takes
    effect here within ``CAMPAIGN_CACHE_SECONDS``. Misses are not cached.
    """
    now = time.monotonic()
    hit = _local.campaigns.get(slug)
    if hit is not None and hit[0] > now:
        return hit[1]
    campaign = load()
    _local.campaigns[slug] = (now + CAMPAIGN_CACHE_SECONDS, campaign)
    return campaign


def _rush_coupon_type(campaign: Campaign) -> CouponType:
    """The one coupon type a rush hands out (its first), reused for a few seconds."""
    now = time.monotonic()
    hit = _local.coupon_types.get(campaign.pk)
    if hit is not None and hit[0] > now:
        return hit[1]
    coupon_type = CouponType.objects.filter(campaign=campaign).order_by("id").first()
    if coupon_type is None:
        raise RushNotConfigured()
    _local.coupon_types[campaign.pk] = (now + CAMPAIGN_CACHE_SECONDS, coupon_type)
    return coupon_type


# --- Reserve -------------------------------------------------------------------------


def _count_reservation(campaign_id: int, day: dt.date) -> tuple | None:
    """Add one reservation to the day's counter row; ``None`` if the day has no row yet.

    One statement: the row stays locked until the reservation commits, so the
    next reservation waits for this one's number to be used or rolled back.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(RushDay._meta.db_table)} "
            "SET reservations = reservations + 1, "
            "coupons = (reservations + 1) * coupons_per_10000 / 10000 "
            "WHERE campaign_id = %s AND day = %s "
            "RETURNING id, release_id, reservations, coupons_per_10000",
            [campaign_id, connection.ops.adapt_datefield_value(day)],
        )
        return cursor.fetchone()


def _rush_day_create(campaign: Campaign, day: dt.date) -> None:
    """The day's counter row and its release, unless a parallel first reservation made them."""
    coupon_type = _rush_coupon_type(campaign)
    try:
        with transaction.atomic():
            release = Release.objects.create(
                coupon_type=coupon_type, count=0, note=f"Rush of {day.isoformat()}"
            )
            RushDay.objects.create(
                campaign=campaign,
                day=day,
                release=release,
                coupons_per_10000=ratio_per_10000(campaign.ratio),
            )
    except IntegrityError:
        if not RushDay.objects.filter(campaign=campaign, day=day).exists():
            raise


def _coupons_make(*, campaign: Campaign, release_id: int, count: int, now) -> None:
    """``count`` coupons of the day, free in its release, codes made now."""
    coupon_type = CouponType.objects.get(releases=release_id)
    for _ in range(count):
        with_unique_codes(
            lambda: Voucher.objects.create(
                code=generate_code(prefix=coupon_type.code_prefix),
                status=Voucher.Status.AVAILABLE,
                campaign=campaign,
                coupon_type=coupon_type,
                release_id=release_id,
                created_at=now,
                **coupon_type.benefit_fields(),
            )
        )
    Release.objects.filter(pk=release_id).update(count=F("count") + count)


def rush_reserve(
    *, campaign: Campaign, customer: Customer, now: dt.datetime | None = None
) -> Reservation:
    """Reserve ``customer`` a place in the day's rush and return the reservation.

    - Only a running rush campaign, inside its reservation window
      (``NOT_IN_ACTIVE_TIME``).
    - Once per customer, campaign and day: the unique constraint decides
      (``ERROR_DUPLICATED_RESERVATION``).
    - The number is the day's counter after one ``UPDATE … RETURNING`` in this
      transaction: a refused reservation rolls its increment back, so numbers
      run 1, 2, 3… with no gap and no repeat.
    - That statement also sets the day's coupons to floor(reservations *
      ratio); when they grow, the new coupon is made in this transaction.
    """
    now = now or timezone.now()
    _require_rush(campaign)
    cycle = rush_cycle_at(campaign, now)
    if not (campaign.is_running(now) and cycle and cycle.in_reservation(now)):
        raise NotInActiveTime("Reservations are not open right now.")
    day = cycle.day
    try:
        with transaction.atomic():
            counted = _count_reservation(campaign.pk, day)
            if counted is None:
                _rush_day_create(campaign, day)
                counted = _count_reservation(campaign.pk, day)
            rush_day_id, release_id, number, per_10000 = counted
            reservation = Reservation.objects.create(
                rush_day_id=rush_day_id,
                campaign=campaign,
                customer=customer,
                day=day,
                number=number,
                created_at=now,
            )
            made = coupons_for(number, per_10000) - coupons_for(number - 1, per_10000)
            if made:
                _coupons_make(
                    campaign=campaign, release_id=release_id, count=made, now=now
                )
    except IntegrityError:
        if Reservation.objects.filter(
            customer=customer, campaign=campaign, day=day
        ).exists():
            raise DuplicatedReservation() from None
        raise
    return reservation


# --- Redis state of a day --------------------------------------------------------------


@dataclass(frozen=True)
class RushKeys:
    """A day's Redis keys; the hash tag keeps them in one Redis Cluster slot."""

    campaign_id: int
    day: dt.date

    def key(self, name: str) -> str:
        return f"rush:{{{self.campaign_id}:{self.day:%Y%m%d}}}:{name}"

    @property
    def ready(self) -> str:
        return self.key("ready")

    @property
    def reserved(self) -> str:
        return self.key("reserved")

    @property
    def received(self) -> str:
        return self.key("received")

    @property
    def stock(self) -> str:
        return self.key("stock")

    @property
    def pending(self) -> str:
        return self.key("pending")

    @property
    def sold_out(self) -> str:
        return self.key("soldout")

    @property
    def warming(self) -> str:
        return self.key("warming")

    def grab(self) -> list[str]:
        return [
            self.ready,
            self.reserved,
            self.received,
            self.stock,
            self.pending,
            self.sold_out,
        ]

    def settle(self) -> list[str]:
        return [self.ready, self.received, self.stock, self.pending, self.sold_out]


def _script(name: str) -> Script:
    source = (
        Path(__file__).resolve().parent.parent / "lua" / f"{name}.lua"
    ).read_bytes()
    return Script(None, source)  # bytes: the sha needs no client; each call names one


_GRAB = _script("grab")
_SETTLE = _script("settle")
_INSTALL = _script("install")


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class WarmResult:
    day: dt.date
    reserved: int
    received: int
    stock: int
    installed: bool


def _warm(
    redis: Redis,
    *,
    campaign: Campaign,
    cycle: RushCycle,
    replace: bool,
    now: dt.datetime,
) -> WarmResult:
    """Copy the day from Postgres into Redis: reservations, grabs, free coupons.

    Built under temporary keys and swapped in by one script, so a grab sees the
    old state or the new one, never half of it; without ``replace`` a state
    another process installed first is kept.
    """
    day = cycle.day
    reserved = list(
        Reservation.objects.filter(campaign=campaign, day=day).values_list(
            "customer_id", "id"
        )
    )
    received = list(
        Grab.objects.filter(campaign=campaign, day=day).values_list(
            "customer_id", "voucher_id"
        )
    )
    stock = list(
        Voucher.objects.filter(
            release__rush_day__campaign=campaign,
            release__rush_day__day=day,
            status=Voucher.Status.AVAILABLE,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    keys = RushKeys(campaign.pk, day)
    token = secrets.token_hex(8)
    temporary = [keys.key(f"build:{token}:{name}") for name in ("r", "g", "s")]
    pipe = redis.pipeline(transaction=False)
    for chunk in itertools.batched(reserved, 1000):
        pipe.hset(temporary[0], mapping=dict(chunk))
    for chunk in itertools.batched(received, 1000):
        pipe.hset(temporary[1], mapping=dict(chunk))
    for chunk in itertools.batched(stock, 1000):
        pipe.rpush(temporary[2], *chunk)
    for key in temporary:
        pipe.expire(key, 60)
    pipe.execute()
    lifetime = (cycle.rush_ends - now).total_seconds() + KEYS_LINGER_SECONDS
    installed = _INSTALL(
        keys=[
            keys.ready,
            keys.reserved,
            keys.received,
            keys.stock,
            keys.pending,
            keys.sold_out,
            *temporary,
        ],
        args=[
            max(60, int(lifetime)),
            "1" if replace else "0",
            len(reserved),
            len(received),
            len(stock),
        ],
        client=redis,
    )
    if installed == -1:
        logger.warning("rush: Redis lost the state being loaded; not installed")
    return WarmResult(day, len(reserved), len(received), len(stock), installed == 1)


def rush_warm(
    *,
    campaign: Campaign,
    day: dt.date | None = None,
    replace: bool = False,
    now: dt.datetime | None = None,
) -> WarmResult | None:
    """Load a day's rush into Redis from Postgres (``manage.py warm_rush``).

    ``day`` defaults to the latest cycle that opened. Only once that day's
    reservations have closed: from then on who reserved and how many coupons
    there are is final. ``replace`` rebuilds a loaded state (after trouble);
    grabs in flight heal themselves. ``None`` without Redis.
    """
    now = now or timezone.now()
    _require_rush(campaign)
    windows = RushWindows.of(campaign)
    if day is None:
        cycle = windows.latest_cycle(campaign.tz, now)
    else:
        cycle = windows.cycle(campaign.tz, day)
    if now < cycle.reservation_ends:
        raise ReservationsStillOpen()
    redis = get_redis()
    if redis is None:
        return None
    return _warm(redis, campaign=campaign, cycle=cycle, replace=replace, now=now)


def _warm_lazily(
    redis: Redis, campaign: Campaign, cycle: RushCycle, now: dt.datetime
) -> bool:
    """The first grab to find the day missing loads it; the others use Postgres meanwhile."""
    keys = RushKeys(campaign.pk, cycle.day)
    if not redis.set(keys.warming, 1, nx=True, ex=WARM_LOCK_SECONDS):
        return False
    try:
        result = _warm(redis, campaign=campaign, cycle=cycle, replace=False, now=now)
    finally:
        redis.delete(keys.warming)
    logger.info(
        "rush state loaded into Redis",
        extra={"campaign": campaign.pk, "day": str(cycle.day), **result.__dict__},
    )
    return True


# --- Grab ------------------------------------------------------------------------------


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
    return grab


def _settle(redis: Redis, keys: RushKeys, customer_id, voucher_id, outcome, holds=""):
    try:
        _SETTLE(
            keys=keys.settle(),
            args=[customer_id, voucher_id, outcome, holds],
            client=redis,
        )
    except REDIS_ERRORS:
        # The coupon stays in the ledger; it is handed on once stale, or the
        # day is rebuilt from Postgres if Redis lost it.
        logger.warning("rush: could not settle a coupon in Redis", exc_info=True)


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
    for _ in range(GRAB_ATTEMPTS):
        reply = _GRAB(
            keys=keys.grab(),
            args=[customer.pk, _ms(now), STALE_PENDING_SECONDS * 1000],
            client=redis,
        )
        outcome = reply[0].decode()
        if outcome == "COLD":
            if warmed or not _warm_lazily(redis, campaign, cycle, now):
                return None
            warmed = True
            continue
        if outcome == "NOT_RESERVATION":
            raise NotReservation()
        if outcome == "ALREADY_RECEIVED":
            if reply[1] == 1:
                _local.remember_received(campaign.pk, day, customer.pk)
            raise AlreadyReceived()
        if outcome == "SOLD_OUT":
            _local.remember_sold_out(campaign.pk, day)
            raise SoldOut()

        voucher_id, reservation_id = int(reply[1]), int(reply[2])
        try:
            with transaction.atomic():
                grab = _grab_write(
                    campaign=campaign,
                    coupon_type=_rush_coupon_type(campaign),
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
            _settle(redis, keys, customer.pk, voucher_id, "back", holds or "")
            _local.remember_received(campaign.pk, day, customer.pk)
            raise
        except BaseException:
            _settle(redis, keys, customer.pk, voucher_id, "back")
            raise
        if grab is None:
            _settle(redis, keys, customer.pk, voucher_id, "gone")
            continue

        def settled(customer_id=customer.pk, voucher_id=voucher_id):
            _local.remember_received(campaign.pk, day, customer_id)
            _settle(redis, keys, customer_id, voucher_id, "kept")

        transaction.on_commit(settled)
        return grab
    return None


def _id_range(release_id: int) -> tuple[int, int] | None:
    """Lowest and highest voucher id of a day's coupons (fixed once the rush opens)."""
    if release_id not in _local.id_ranges:
        ids = Voucher.objects.filter(release_id=release_id).order_by("id")
        first = ids.values_list("id", flat=True).first()
        last = ids.reverse().values_list("id", flat=True).first()
        _local.id_ranges[release_id] = None if first is None else (first, last)
    return _local.id_ranges[release_id]


class _NothingFree(Exception):
    pass


def _pool_pick(*, coupon_type_id: int, release_id: int) -> int | None:
    """Lock one of the day's free coupons, or ``None`` when there is none.

    ``SKIP LOCKED`` so grabbers do not queue behind each other; ``ORDER BY id``
    from a random start so the planner keeps to the pool's partial index and
    picks do not all wade through the dead entries at its head
    (PERFORMANCE.md). When every free row is locked by grabs in flight, wait
    for them: one may roll back, and "sold out" must be exact.
    """
    span = _id_range(release_id)
    if span is None:
        return None
    pool = (
        Voucher.objects.filter(
            coupon_type_id=coupon_type_id,
            release_id=release_id,
            status=Voucher.Status.AVAILABLE,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    start = _rng.randint(*span)
    try:
        # A savepoint: rows this pick locked and then found taken (Postgres keeps
        # such locks) are let go before we wait, or waits could form a cycle.
        with transaction.atomic():
            for part in (pool.filter(id__gte=start), pool.filter(id__lt=start)):
                picked = part.select_for_update(skip_locked=True).first()
                if picked is not None:
                    return picked
            raise _NothingFree
    except _NothingFree:
        pass
    return pool.select_for_update().first()


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
        _local.remember_received(campaign.pk, day, customer.pk)
        raise AlreadyReceived()
    coupon_type = _rush_coupon_type(campaign)
    with transaction.atomic():
        voucher_id = _pool_pick(coupon_type_id=coupon_type.pk, release_id=release_id)
        if voucher_id is None:
            _local.remember_sold_out(campaign.pk, day)
            raise SoldOut()
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
            raise AssertionError(f"voucher {voucher_id} changed under its row lock")
    transaction.on_commit(
        lambda: _local.remember_received(campaign.pk, day, customer.pk)
    )
    return grab


def rush_grab(
    *, campaign: Campaign, customer: Customer, now: dt.datetime | None = None
) -> Grab:
    """Grab one of the day's coupons for ``customer``, first come first served.

    - Only a running rush campaign, inside its rush window (``NOT_IN_ACTIVE_TIME``).
    - Only a customer who reserved for the day (``NOT_RESERVATION``).
    - One coupon per customer and day (``ALREADY_RECEIVED``): the unique
      constraint on ``Grab`` decides.
    - Never more than the day's coupons, and none left while someone asks:
      each coupon goes to the one grab whose conditional UPDATE finds it free
      (``SOLD_OUT`` when none is).
    - The grab is committed when this returns (inside the caller's
      transaction, if any).
    """
    now = now or timezone.now()
    _require_rush(campaign)
    cycle = rush_cycle_at(campaign, now)
    if not (campaign.is_running(now) and cycle and cycle.in_rush(now)):
        raise NotInActiveTime("The rush is not on right now.")
    day = cycle.day
    if _local.has_received(campaign.pk, day, customer.pk):
        raise AlreadyReceived()
    if _local.is_sold_out(campaign.pk, day):
        raise SoldOut()
    redis = _local.redis()
    if redis is not None:
        try:
            grab = _grab_redis(
                redis, campaign=campaign, cycle=cycle, customer=customer, now=now
            )
        except MaxConnectionsError:
            # This process's pool is busy, Redis is fine: only this grab goes around.
            logger.warning("rush: Redis pool exhausted, grabbing from Postgres")
        except REDIS_ERRORS:
            _local.redis_failed()
            logger.warning(
                "rush: Redis unavailable, grabbing from Postgres", exc_info=True
            )
        else:
            if grab is not None:
                return grab
    return _grab_postgres(campaign=campaign, day=day, customer=customer, now=now)
