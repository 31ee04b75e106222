"""The pool that claims and rushes take coupons from: the batches put into it, the pick.

A ``Release`` is a batch of coupons of one type put into the pool: employees
release batches into claim campaigns (``draws.claim.releases``), and each rush
day's coupons are one release that grows with its reservations
(``draws.rush.services.reserve``). ``pool_pick`` locks one free coupon for a
claim or a grab.
"""

import random
import time

from django.conf import settings
from django.db import models, transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import CouponType


class Release(models.Model):
    """A batch of coupons of one type put into the pool (claim and rush modes).

    Employees release batches into claim campaigns (``batch_release``); a rush
    day's coupons are one release that grows with its reservations. The table
    keeps its first name (``campaigns_release``): the model moved here.
    """

    coupon_type = models.ForeignKey(
        CouponType,
        on_delete=models.CASCADE,
        related_name="releases",
        verbose_name=_("coupon type"),
    )
    count = models.PositiveIntegerField(_("count"))
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("released by"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        db_table = "campaigns_release"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return _("%(count)s x %(coupon_type)s at %(at)s") % {
            "count": self.count,
            "coupon_type": self.coupon_type.name,
            "at": f"{self.created_at:%Y-%m-%d %H:%M}",
        }


# --- The pick -------------------------------------------------------------------------

# How long a process trusts its guess of a pool's id range (a hint, never a rule).
ID_RANGE_SECONDS = 30

_rng = random.SystemRandom()

# A process-local guess of each pool's id range, by the key its picker names.
# Stale bounds only make the random start less even (rows beyond them are still
# found), so no process needs to hear of another's release; a release here
# forgets them at once (``pool_forget_id_range``).
_id_ranges: dict[str, tuple[float, int | None, int | None]] = {}


class _NothingFree(Exception):
    pass


def pool_pick(
    free: QuerySet,
    *,
    spread_over: QuerySet,
    range_key: str,
    range_seconds: float = ID_RANGE_SECONDS,
    wait: bool = False,
):
    """Lock the first free row from a random point of the pool's id range.

    ``free`` are the rows that may be taken (any filters, any ``values_list``);
    the row ``free.first()`` would give is returned, locked, or ``None``.
    ``spread_over`` are the rows whose lowest and highest id bound the random
    start, remembered in this process under ``range_key`` for
    ``range_seconds``.

    - ``SELECT … FOR UPDATE SKIP LOCKED``, so pickers take different rows
      instead of queueing behind one.
    - ``ORDER BY id`` with an id filter, so the planner walks an index in id
      order from the start (for claims the partial index ``voucher_pool_pick``)
      and stops at the first free row; without ``ORDER BY`` it chose a full
      scan. The random start spreads pickers, and the dead index entries their
      updates leave, over the whole range instead of piling them up at its
      head (docs/performance.md, "Limits of this machine"). If nothing is free
      above the start, the part below it is tried.
    - ``wait``: when every free row is locked by picks in flight, wait for
      them instead of answering ``None``, since one may roll back. The skipping
      picks then run in a savepoint: rows they locked and found taken
      (Postgres keeps such locks) are let go before the wait, or waits could
      form a cycle.

    What differs between the callers, and why:

    - A claim (``draws.claim.services``) takes an available coupon, or a held
      one whose hold ran out, of one coupon type; the range is that type's
      pool (the rows of ``voucher_pool_pick``), re-read every
      ``ID_RANGE_SECONDS`` since releases add to it, and forgotten by a release
      in this process. It does not wait: its ``SOLD_OUT`` means "no coupon is
      free right now", and one another claim has locked is not.
    - A grab (``draws.rush.services.grab``) takes an available coupon of one
      rush day's release; the range is that release, read once (its ids are
      fixed once the rush opens). It waits: a day's stock never grows again,
      so its "sold out" must be exact.
    """
    free = free.order_by("id")
    low, high = _id_range(range_key, spread_over, range_seconds)
    if high is None:
        parts = [free]
    else:
        start = _rng.randint(low, high)
        parts = [free.filter(id__gte=start)]
        if start > low:
            parts.append(free.filter(id__lt=start))
    if not wait:
        return _first_unlocked(parts)
    try:
        with transaction.atomic():
            picked = _first_unlocked(parts)
            if picked is not None:
                return picked
            raise _NothingFree
    except _NothingFree:
        pass
    return free.select_for_update().first()


def _first_unlocked(parts: list[QuerySet]):
    for part in parts:
        picked = part.select_for_update(skip_locked=True).first()
        if picked is not None:
            return picked
    return None


def _id_range(
    range_key: str, spread_over: QuerySet, seconds: float
) -> tuple[int | None, int | None]:
    cached = _id_ranges.get(range_key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1], cached[2]
    bounds = spread_over.aggregate(low=Min("id"), high=Max("id"))
    _id_ranges[range_key] = (
        time.monotonic() + seconds,
        bounds["low"],
        bounds["high"],
    )
    return bounds["low"], bounds["high"]


def pool_id_range_held(range_key: str) -> tuple[int | None, int | None] | None:
    """This process's guess of a pool's id range, while it is trusted (no
    query: for the group committer, which reads it on its own connection when
    this gives None, and keeps it with ``pool_id_range_keep``)."""
    cached = _id_ranges.get(range_key)
    if cached is None or cached[0] <= time.monotonic():
        return None
    return cached[1], cached[2]


def pool_id_range_keep(
    range_key: str,
    low: int | None,
    high: int | None,
    seconds: float = ID_RANGE_SECONDS,
) -> None:
    _id_ranges[range_key] = (time.monotonic() + seconds, low, high)


def pool_random_start(low: int | None, high: int | None) -> int:
    """Where a pick starts in the range, as ``pool_pick`` draws it (an empty
    range: 0, below every id)."""
    return 0 if high is None else _rng.randint(low, high)


def pool_forget_id_range(range_key: str | None = None) -> None:
    """Forget this process's guess of a pool's id range (of every pool: ``None``)."""
    if range_key is None:
        _id_ranges.clear()
    else:
        _id_ranges.pop(range_key, None)
