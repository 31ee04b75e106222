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
  (``draws/rush/lua/grab.lua``) that checks the reservation and the customers
  already served and pops a coupon, all at once; the grab is then written to
  Postgres in the same request (voucher issued with a conditional UPDATE, a
  ``Grab`` row unique per customer and day), so a ``201`` means it is
  committed. If that write fails the coupon goes back (``settle.lua``). Popped
  coupons sit in a ledger until settled; one whose request died is handed on
  after ``STALE_PENDING_SECONDS``.
- Postgres is the truth and Redis a copy of it: the day's Redis state is built
  from Postgres when the rush opens (``rush_warm``: by ``manage.py warm_rush``
  or lazily by the first grab) and again whenever Redis has lost it. Loading
  closes the day's reservations in Postgres first (waiting for any still
  committing), so what Redis holds about who reserved is final. Every
  disagreement heals itself, because Postgres decides each grab: a coupon
  Redis offers that Postgres has already given away is dropped, a customer
  Redis forgot who already holds one is told so.
- With Redis down, grabs are decided by Postgres alone: a random-start
  ``SELECT … FOR UPDATE SKIP LOCKED`` on the day's free coupons, then the same
  write, exact as well.
- The checks answer in one order on every path: window, reservation, already
  received, sold out. The Lua script checks in that order; so does the
  Postgres path; and a process answers from memory only what cannot change
  any more: a customer who received, and, once a day is sold out for good
  (``final``), every grab of that day, from the final sets of who reserved and
  who received. Else the one Lua call answers: no database.

- **Group commit**: on the event loop (issue 18's thin path), reservations and
  the winners Redis popped are written in groups, one transaction per group,
  each answered after its ``COMMIT``, by the same rules (``group_commit``).

Modules: ``common`` (errors, arithmetic, what a process remembers),
``reserve``, ``redis_state`` (keys, scripts, loading), ``grab``, ``final``
(sold-out days answered from memory), ``group_commit`` (a package: the
batch writes the shared committer, ``couponsite.group_commit``, sends for the rush).
"""

from draws.rush.services.common import (
    AlreadyReceived,
    DuplicatedReservation,
    NotReservation,
    ReservationsStillOpen,
    RushNotConfigured,
    SoldOut,
    coupons_for,
    ratio_per_10000,
    rush_cycle_at,
    rush_local_state_clear,
)
from draws.rush.services.grab import rush_grab
from draws.rush.services.redis_state import (
    DayWarmed,
    RushKeys,
    WarmResult,
    rush_warm,
    rush_warm_closed,
)
from draws.rush.services.reserve import rush_reserve

__all__ = [
    "AlreadyReceived",
    "DayWarmed",
    "DuplicatedReservation",
    "NotReservation",
    "ReservationsStillOpen",
    "RushKeys",
    "RushNotConfigured",
    "SoldOut",
    "WarmResult",
    "coupons_for",
    "ratio_per_10000",
    "rush_cycle_at",
    "rush_grab",
    "rush_local_state_clear",
    "rush_reserve",
    "rush_warm",
    "rush_warm_closed",
]
