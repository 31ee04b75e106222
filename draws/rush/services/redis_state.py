"""The day's state in Redis: its keys, its Lua scripts, loading it from Postgres."""

import datetime as dt
import itertools
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone
from redis import Redis
from redis.commands.core import Script

from campaigns.models import Campaign
from campaigns.schedule import RushCycle, RushWindows
from couponsite.background.once import DONE_ALREADY, job_keys_done, job_run_once
from couponsite.errors import DomainError
from couponsite.redis_client import REDIS_ERRORS, get_redis, redis_key
from draws.rush.models import Grab, Reservation, RushDay
from draws.rush.services.common import (
    KEYS_LINGER_SECONDS,
    WARM_LOCK_SECONDS,
    ReservationsStillOpen,
    require_rush,
)
from draws.rush.services.reserve import rush_day_create
from vouchers.models import Voucher

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RushKeys:
    """A day's Redis keys; the hash tag keeps them in one Redis Cluster slot."""

    campaign_id: int
    day: dt.date

    def key(self, name: str) -> str:
        return redis_key("rush", f"{{{self.campaign_id}:{self.day:%Y%m%d}}}", name)

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

    def building(self, token: str) -> list[str]:
        """The temporary reserved, received and stock a load builds (same slot)."""
        return [self.key(f"build:{token}:{name}") for name in ("r", "g", "s")]

    def install(self, token: str) -> list[str]:
        return [*self.grab(), *self.building(token)]


def _script(name: str) -> Script:
    source = (Path(__file__).resolve().parents[1] / "lua" / f"{name}.lua").read_bytes()
    return Script(None, source)  # bytes: the sha needs no client; each call names one


GRAB_SCRIPT = _script("grab")
SETTLE_SCRIPT = _script("settle")
INSTALL_SCRIPT = _script("install")


def ms(moment: dt.datetime) -> int:
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

    First the day's reservations are closed in Postgres (waiting for any still
    committing), so the copy of who reserved and of the coupons is final.
    Built under temporary keys and swapped in by one script, so a grab sees the
    old state or the new one, never half of it; without ``replace`` a state
    another process installed first is kept.
    """
    day = cycle.day
    rush_day_create(campaign, day)
    RushDay.objects.filter(
        campaign=campaign, day=day, reservations_closed_at__isnull=True
    ).update(reservations_closed_at=now)
    reserved = list(
        Reservation.objects.filter(campaign=campaign, day=day).values_list(
            "customer_id", "id"
        )
    )
    # The stock before the grabs: a grab (through Postgres) committing between
    # the two reads leaves its coupon in the stock and its customer in the
    # grabs, never neither; the coupon is dropped when Redis offers it.
    stock = list(
        Voucher.objects.filter(
            release__rush_day__campaign=campaign,
            release__rush_day__day=day,
            status=Voucher.Status.AVAILABLE,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    received = list(
        Grab.objects.filter(campaign=campaign, day=day).values_list(
            "customer_id", "voucher_id"
        )
    )
    keys = RushKeys(campaign.pk, day)
    token = secrets.token_hex(8)
    temporary = keys.building(token)
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
    installed = INSTALL_SCRIPT(
        keys=keys.install(token),
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
    require_rush(campaign)
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


WARM_JOB = "rush_warm"


@dataclass(frozen=True)
class DayWarmed:
    campaign: Campaign
    result: WarmResult


def rush_warm_closed(*, now: dt.datetime | None = None) -> list[DayWarmed]:
    """Load each running rush whose reservation window has closed (and whose
    rush has not ended) into Redis, once per campaign and day: the schedule runs
    it every minute (``draws.tasks``), so a day is loaded within a minute of its
    reservations closing. The ``JobRun`` mark (``rush_warm``, campaign:day) is
    inserted with the load: a load Redis refused leaves no mark and the next
    minute tries again; a second scheduler or worker finds the mark and skips.
    ``rush_warm`` is idempotent besides (a loaded day is kept). Nothing
    without Redis.
    """
    now = now or timezone.now()
    if get_redis() is None:
        return []
    due = {}
    for campaign in Campaign.objects.filter(kind=Campaign.Kind.RUSH).active(now):
        cycle = RushWindows.of(campaign).latest_cycle(campaign.tz, now)
        if cycle.reservation_ends <= now < cycle.rush_ends:
            due[campaign] = (cycle, f"{campaign.pk}:{cycle.day.isoformat()}")
    done = job_keys_done(job=WARM_JOB, keys=[key for _, key in due.values()])
    warmed = []
    for campaign, (cycle, key) in due.items():
        if key in done:
            continue

        def work(campaign=campaign, cycle=cycle) -> WarmResult | None:
            return rush_warm(campaign=campaign, day=cycle.day, now=now)

        try:
            result = job_run_once(job=WARM_JOB, key=key, work=work)
        except (*REDIS_ERRORS, DomainError):
            logger.warning(
                "rush: day not loaded; the next run tries again",
                extra={"campaign": campaign.pk, "day": str(cycle.day)},
                exc_info=True,
            )
            continue
        if result is not DONE_ALREADY and result is not None:
            warmed.append(DayWarmed(campaign, result))
    return warmed


def warm_lazily(
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


def settle(
    redis: Redis,
    keys: RushKeys,
    customer_id,
    voucher_id,
    outcome,
    holds="",
    *,
    gone_to="",
):
    """Settle a popped coupon (``settle.lua``): kept, back in the stock, or gone.

    ``holds``: the coupon the customer already holds in Postgres; ``gone_to``
    (outcome "gone"): the customer Postgres gave the coupon to.
    """
    try:
        SETTLE_SCRIPT(
            keys=keys.settle(),
            args=[customer_id, voucher_id, outcome, holds, gone_to],
            client=redis,
        )
    except REDIS_ERRORS:
        # The coupon stays in the ledger; it is handed on once stale, or the
        # day is rebuilt from Postgres if Redis lost it.
        logger.warning("rush: could not settle a coupon in Redis", exc_info=True)
