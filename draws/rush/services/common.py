"""What the rush's parts share: its errors, its arithmetic, and what a process remembers."""

import datetime as dt
import threading
import time
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.utils.translation import gettext_lazy as _
from redis import Redis

from campaigns.models import Campaign, CouponType
from campaigns.schedule import RushCycle, RushWindows
from couponsite.errors import DomainError
from couponsite.localcache import local_cached, local_clear
from couponsite.redis_client import get_redis
from draws.opening import require_kind
from draws.pool import pool_forget_id_range
from draws.rush.services.sold_out import rush_sold_out_forget

# A popped coupon not settled after this long belongs to a request that died.
STALE_PENDING_SECONDS = 15
# After finding a day not yet final in Postgres, wait this long before looking again.
FINAL_DAY_RETRY_SECONDS = 1.0
# A process keeps a sold-out day's answers in memory up to this many reservations.
FINAL_DAY_MAX_RESERVATIONS = 500_000
# How long this process remembers a customer who holds today's coupon (seed 003: 2 min).
LOCAL_RECEIVED_SECONDS = 120.0
LOCAL_RECEIVED_MAX = 200_000
# After a Redis error, go straight to Postgres for this long.
REDIS_BACKOFF_SECONDS = 5.0
# While one grab loads a day into Redis (``warm_lazily``) the others use Postgres;
# its "loading" mark lapses after this long, should that process die mid-load.
WARM_LOCK_SECONDS = 10
# Redis keys of a day outlive its rush by this long.
KEYS_LINGER_SECONDS = 3600
# Coupons Redis offers that Postgres has given away are skipped, this many at most.
GRAB_ATTEMPTS = 10


class DuplicatedReservation(DomainError):
    code = "ERROR_DUPLICATED_RESERVATION"
    detail = _("You have already reserved for today's rush.")


class NotReservation(DomainError):
    code = "NOT_RESERVATION"
    detail = _("Only customers who reserved for today's rush may grab.")


class AlreadyReceived(DomainError):
    code = "ALREADY_RECEIVED"
    detail = _("You already have a coupon from today's rush.")


class SoldOut(DomainError):
    code = "SOLD_OUT"
    detail = _("Today's coupons are all gone.")


class RushNotConfigured(DomainError):
    code = "RUSH_NOT_CONFIGURED"
    detail = _("This rush has no coupon type to hand out.")


class ReservationsStillOpen(DomainError):
    code = "RESERVATIONS_STILL_OPEN"
    detail = _("That day's reservations are still open; its rush cannot be loaded yet.")


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


def require_rush(campaign: Campaign) -> None:
    require_kind(campaign, Campaign.Kind.RUSH)


# --- What this process remembers -----------------------------------------------------


@dataclass(frozen=True)
class FinalDay:
    """A sold-out day, as final as it gets: who reserved and who received.

    Once a day's reservations are closed and none of its coupons is free in
    Postgres, neither set can change again (no reservation is counted after
    the close, no coupon is left to give, and a given coupon never returns to
    the stock). Every grab's answer is then a function of the customer alone,
    in the rush's order: reservation, already received, sold out.
    """

    reserved: frozenset[int]
    received: frozenset[int]

    def refusal(self, customer_id: int) -> DomainError:
        if customer_id not in self.reserved:
            return NotReservation()
        if customer_id in self.received:
            return AlreadyReceived()
        return SoldOut()


class _LocalState:
    """What this process remembers: facts that cannot change, and short-lived hints.

    A customer who received keeps their coupon, and a sold-out day is final
    (``FinalDay``): both answer grabs from memory in the rush's order. Nothing
    here ever answers ``SOLD_OUT`` on its own: that answer needs the customer's
    reservation and receipt checked first, by Redis, Postgres or a ``FinalDay``.
    """

    def __init__(self) -> None:
        self.final_lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.final_days: dict[tuple[int, dt.date], FinalDay] = {}
        self.final_not_before: dict[tuple[int, dt.date], float] = {}
        self.received_until: dict[tuple[int, dt.date, int], float] = {}
        self.redis_skipped_until = 0.0

    def final_day(self, campaign_id: int, day: dt.date) -> FinalDay | None:
        return self.final_days.get((campaign_id, day))

    def remember_final_day(
        self, campaign_id: int, day: dt.date, final: FinalDay
    ) -> None:
        self.final_days = {
            key: value
            for key, value in self.final_days.items()
            if key[0] != campaign_id
        }
        self.final_days[(campaign_id, day)] = final

    def may_look_for_final_day(self, campaign_id: int, day: dt.date) -> bool:
        return self.final_not_before.get((campaign_id, day), 0) <= time.monotonic()

    def looked_for_final_day(self, campaign_id: int, day: dt.date) -> None:
        self.final_not_before[(campaign_id, day)] = (
            time.monotonic() + FINAL_DAY_RETRY_SECONDS
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


local = _LocalState()


def rush_local_state_clear() -> None:
    """Forget every flag and cache of this process (tests; a deploy does it anyway)."""
    local.clear()
    local_clear()
    pool_forget_id_range()
    rush_sold_out_forget()


def rush_coupon_type(campaign: Campaign) -> CouponType:
    """The one coupon type a rush hands out, kept a moment per process.

    None, or more than one (the campaign rules refuse it; a rush made before
    them may have it), is ``RushNotConfigured``: no guess at which one to give.
    """

    def load() -> CouponType:
        coupon_types = list(
            CouponType.objects.filter(campaign=campaign).order_by("id")[:2]
        )
        if not coupon_types:
            raise RushNotConfigured()
        if len(coupon_types) > 1:
            raise RushNotConfigured(
                _("This rush has more than one coupon type; it hands out exactly one.")
            )
        return coupon_types[0]

    return local_cached(f"rush:{campaign.pk}:coupon_type", load)
