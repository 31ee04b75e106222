"""A coupon type's quotas: taking a unit, spreading them over shards, what was issued.

An unsharded type (``quota_shards`` = 1) counts on its own row: one
conditional UPDATE per unit, as it always has. A hot type may spread its
counters over ``quota_shards`` rows (``QuotaShard``), each holding a share of
the quotas, so that concurrent winners lock different rows instead of queueing
on one. The shares sum to the quotas, a shard never issues past its share (a
check constraint), so the type never issues past its quotas; a taker that finds
its shard spent tries the others, and says "sold out" only when one snapshot
shows no room on any of them.
"""

import datetime as dt
import functools
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CouponType, QuotaShard
from couponsite.errors import DomainError


class QuotaBelowIssued(DomainError):
    code = "QUOTA_BELOW_ISSUED"
    detail = _("A quota cannot be set below what was already issued.")


# The room test and the take of one counter row; ``{total}``/``{daily}`` name
# the row's caps (a type's quotas, a shard's shares), ``{p}`` its alias prefix.
_ROOM = """
    ({p}{total} IS NULL OR {p}issued_total < {p}{total})
    AND ({p}{daily} IS NULL
         OR ({p}quota_day = %(day)s AND {p}issued_today < {p}{daily})
         OR (({p}quota_day IS NULL OR {p}quota_day <> %(day)s) AND {p}{daily} > 0))
    AND ({p}quota_day IS NULL OR {p}quota_day <= %(day)s)
"""
_TAKE = """
    UPDATE {table}
       SET issued_total = issued_total + 1,
           issued_today = CASE WHEN quota_day = %(day)s THEN issued_today + 1 ELSE 1 END,
           quota_day = %(day)s
     WHERE {key} AND {room}
"""

# A taker tries again when a snapshot shows room it did not get (others took
# it, or the type was spread again meanwhile). Each round means other takers
# made progress, so this bound is a safety net.
_ROUNDS = 100


@functools.cache
def _sql() -> dict[str, str]:
    quote = connection.ops.quote_name
    types, shards = quote(CouponType._meta.db_table), quote(QuotaShard._meta.db_table)
    type_room = _ROOM.format(p="", total="total_quota", daily="daily_quota")
    shard_room = _ROOM.format(p="", total="total_share", daily="daily_share")
    state = (
        "t.quota_shards, CASE WHEN t.quota_shards = 1 THEN CASE WHEN "
        + _ROOM.format(p="t.", total="total_quota", daily="daily_quota")
        + f" THEN 0 END ELSE (SELECT r.slot FROM {shards} r "
        "WHERE r.coupon_type_id = t.id AND "
        + _ROOM.format(p="r.", total="total_share", daily="daily_share")
        + " ORDER BY random() LIMIT 1) END, t.quota_shards > 1 AND s.later = 0 "
        "AND (t.total_quota IS NULL OR t.total_quota > s.issued_total) "
        "AND (t.daily_quota IS NULL OR t.daily_quota > s.issued_on_day) "
        f"FROM {types} t, LATERAL (SELECT "
        "COALESCE(SUM(issued_total), 0) AS issued_total, "
        "COALESCE(SUM(issued_today) FILTER (WHERE quota_day = %(day)s), 0) "
        "AS issued_on_day, COUNT(*) FILTER (WHERE quota_day > %(day)s) AS later "
        f"FROM {shards} WHERE coupon_type_id = t.id) s WHERE t.id = %(id)s"
    )
    return {
        # The one statement of an unsharded type (``quota_shards = 1``: a
        # sharded type's row has no units to give).
        "type_take": _TAKE.format(
            table=types, key="id = %(id)s AND quota_shards = 1", room=type_room
        ),
        # A waiting take of one shard (in a savepoint: see quota_take).
        "shard_take": _TAKE.format(
            table=shards,
            key="coupon_type_id = %(id)s AND slot = %(slot)s",
            room=shard_room,
        ),
        # One snapshot, taking and locking nothing: the type's shard count,
        # a random slot with room (0 for an unsharded row with room; NULL:
        # none), and whether both quotas have room on the day (what is left
        # of both in all) that no single shard has (each holds part of one
        # and part of the other): then it is spread again.
        "state": "SELECT 0, " + state,
    }


class _NothingTaken(Exception):
    """An attempt that took no unit: its savepoint is rolled back."""


def _attempt(cursor, statement: str, params: dict) -> tuple | None:
    """Run one take in a savepoint, kept if it took a unit, rolled back (with
    any row lock it kept) if not. A one-tuple of its row count."""
    try:
        with transaction.atomic():
            cursor.execute(statement, params)
            found = (cursor.rowcount,)
            if not found or not found[0]:
                raise _NothingTaken(found)
            return found
    except _NothingTaken as nothing:
        return nothing.args[0]


def quota_take(*, coupon_type_id: int, day: dt.date) -> bool:
    """Take one unit of the type's total quota and of ``day``'s quota, or nothing.

    Unsharded (the common case; one statement when a unit is left, and one
    lock-free read more when not): one conditional UPDATE of the type row. The row is locked for that
    statement's transaction, the predicate is re-checked after any wait, and
    the row count says whether a unit was taken. A row still on an earlier day
    rolls over to ``day`` (so the daily quota turns over at local midnight with
    no command); a row already on a later day is never rolled back by a
    request from before midnight. SQL because it runs on every winning roll.

    Sharded: the type row's UPDATE takes nothing (and waits for nothing: its
    row never matches), a read of the state finds it sharded and picks a
    random shard with room, then, in a savepoint, the same UPDATE on that
    shard, queueing behind its holder if it has one. Three statements and a
    savepoint when that shard gives a unit. Exact, under READ COMMITTED:

    - never over: the UPDATE re-checks the shard's room on its newest version
      after any wait, the constraint forbids more, and the shares sum to the quotas
      (``quota_spread`` keeps them so, under the same row locks);
    - no false "sold out": "sold out" only when a read of the state shows no
      room on any shard (true at that instant: units never come back). When
      its shard gave nothing (others took it first), the taker reads the state
      again and tries another shard with room; when both quotas
      have room in all but no shard holds both (one has total room but spent
      its daily share, another the reverse: only at the tail of a quota or a
      day) it spreads them again (``quota_rebalance``); then tries again.
    - no deadlock: a taker never waits while holding a shard. Postgres keeps
      the lock on a row that an UPDATE re-checked and refused after a
      concurrent update, so every attempt after the type row's UPDATE runs in
      a savepoint, released when it takes a unit and
      rolled back when not (which lets those locks go). The only lock a taker
      may hold while it waits is the type row (its UPDATE waited for a
      re-spread), first in the order every re-spread locks in.
    """
    sql, params = _sql(), {"id": coupon_type_id, "day": day}
    with connection.cursor() as cursor:
        cursor.execute(sql["type_take"], params)
        if cursor.rowcount == 1:
            return True
        # Unsharded and spent (the common refusal): one more read, no lock.
        cursor.execute(sql["state"], params)
        found = cursor.fetchone()
        for _ in range(_ROUNDS):
            if found is None:
                return False
            _, shards, slot, spread_room = found
            if slot is None:
                if not spread_room:
                    return False
                quota_rebalance(coupon_type_id=coupon_type_id, day=day)
            else:
                # A random shard with room: take from it, queueing behind its
                # holder if it has one (a row lock waits asleep, where
                # skipping to a free shard kept every taker busy: bench).
                statement = "type_take" if shards == 1 else "shard_take"
                taken = _attempt(cursor, sql[statement], {**params, "slot": slot})
                if taken[0]:
                    return True
            cursor.execute(sql["state"], params)
            found = cursor.fetchone()
    return False


@dataclass(frozen=True)
class Issued:
    """What a type issued: in all, and on ``day`` (None: no unit yet)."""

    total: int
    today: int
    day: dt.date | None

    def on(self, day: dt.date) -> int:
        return self.today if self.day == day else 0


def quota_issued(coupon_type_ids: list[int]) -> dict[int, Issued]:
    """What each type's counters say it issued, sharded or not (one query):
    a sharded type's counts are its shards' sums, on the latest day any of
    them is on (a shard still on an earlier day issued 0 that day)."""
    shards = {}
    for row in QuotaShard.objects.filter(coupon_type_id__in=coupon_type_ids).values(
        "coupon_type_id", "issued_total", "issued_today", "quota_day"
    ):
        shards.setdefault(row["coupon_type_id"], []).append(row)
    issued = {}
    for row in CouponType.objects.filter(pk__in=coupon_type_ids).values(
        "pk", "quota_shards", "issued_total", "issued_today", "quota_day"
    ):
        rows = shards.get(row["pk"]) if row["quota_shards"] > 1 else None
        issued[row["pk"]] = _summed(rows) if rows else _summed([row])
    return issued


def _summed(rows: list[dict]) -> Issued:
    days = [row["quota_day"] for row in rows if row["quota_day"] is not None]
    day = max(days) if days else None
    return Issued(
        total=sum(row["issued_total"] for row in rows),
        today=sum(row["issued_today"] for row in rows if row["quota_day"] == day),
        day=day,
    )


def _split(amount: int, parts: int, *, last_first: bool = False) -> list[int]:
    """``amount`` in ``parts`` as even as can be; the remainder to the first
    parts (``last_first``: to the last)."""
    base, rest = divmod(amount, parts)
    shares = [base + (1 if i < rest else 0) for i in range(parts)]
    return shares[::-1] if last_first else shares


def quota_spread(*, coupon_type: CouponType, day: dt.date | None = None) -> None:
    """Lay the type's counters out for its ``quota_shards``, ``total_quota`` and
    ``daily_quota`` as set on ``coupon_type`` (in memory: the caller saves those
    fields after, in the same transaction).

    The type row and its shards are locked (FOR UPDATE, type then slots in
    order, the order every taker keeps), the counters read and summed, then:
    with one shard, the sums go back on the type row and the shards are
    deleted; with N, the type row's counters go to 0 and N shards hold the
    sums, split evenly, each with a share of its issued plus an even part of
    the room left, so every share covers its issued and the shares sum to the
    quotas. Shards that stay are updated in place (a taker waiting on one
    re-checks it against its new share). A quota below what was issued
    (today's, for the daily one) is refused: ``QUOTA_BELOW_ISSUED``.
    """
    with transaction.atomic():
        stored = (
            CouponType.objects.select_for_update()
            .select_related("campaign")
            .get(pk=coupon_type.pk)
        )
        old = list(
            QuotaShard.objects.select_for_update()
            .filter(coupon_type_id=coupon_type.pk)
            .order_by("slot")
        )
        rows = [
            {
                "issued_total": row.issued_total,
                "issued_today": row.issued_today,
                "quota_day": row.quota_day,
            }
            for row in (old if stored.quota_shards > 1 and old else [stored])
        ]
        counted = _summed(rows)
        day = max(filter(None, [counted.day, day or stored.campaign.local_day()]))
        today = counted.on(day)
        total_quota, daily_quota = coupon_type.total_quota, coupon_type.daily_quota
        if total_quota is not None and total_quota < counted.total:
            raise QuotaBelowIssued(
                gettext("The total quota cannot be below the %(count)s coupons issued.")
                % {"count": counted.total}
            )
        if daily_quota is not None and daily_quota < today:
            raise QuotaBelowIssued(
                gettext(
                    "The daily quota cannot be below the %(count)s coupons issued today."
                )
                % {"count": today}
            )
        n = coupon_type.quota_shards
        quota_day = day if counted.day else None
        if n == 1:
            QuotaShard.objects.filter(coupon_type_id=coupon_type.pk).delete()
            CouponType.objects.filter(pk=coupon_type.pk).update(
                issued_total=counted.total, issued_today=today, quota_day=quota_day
            )
            return
        totals, todays = _split(counted.total, n), _split(today, n)
        total_rooms = (
            _split(total_quota - counted.total, n, last_first=True)
            if total_quota is not None
            else [None] * n
        )
        daily_rooms = (
            _split(daily_quota - today, n, last_first=True)
            if daily_quota is not None
            else [None] * n
        )
        by_slot = {shard.slot: shard for shard in old}
        kept, new = [], []
        for slot in range(n):
            shard = by_slot.pop(slot, None) or QuotaShard(
                coupon_type_id=coupon_type.pk, slot=slot
            )
            shard.issued_total, shard.issued_today = totals[slot], todays[slot]
            shard.quota_day = quota_day
            shard.total_share = (
                None if total_rooms[slot] is None else totals[slot] + total_rooms[slot]
            )
            shard.daily_share = (
                None if daily_rooms[slot] is None else todays[slot] + daily_rooms[slot]
            )
            (new if shard.pk is None else kept).append(shard)
        if by_slot:
            QuotaShard.objects.filter(pk__in=[s.pk for s in by_slot.values()]).delete()
        QuotaShard.objects.bulk_update(
            kept,
            ["issued_total", "issued_today", "quota_day", "total_share", "daily_share"],
        )
        QuotaShard.objects.bulk_create(new)
        CouponType.objects.filter(pk=coupon_type.pk).update(
            issued_total=0, issued_today=0, quota_day=None
        )


def quota_rebalance(*, coupon_type_id: int, day: dt.date | None = None) -> None:
    """Spread a sharded type's counters again as it is set (``quota_spread``
    under the same locks): each shard gets an even part of what is left of
    both quotas (on ``day``; by default the campaign's today)."""
    with transaction.atomic():
        stored = CouponType.objects.select_for_update().get(pk=coupon_type_id)
        if stored.quota_shards > 1:
            quota_spread(coupon_type=stored, day=day)


def quotas_open_day(*, campaign: Campaign, day: dt.date) -> int:
    """Roll the campaign's daily counters over to ``day`` (idempotent).

    Nothing depends on this running: ``quota_take`` rolls a counter over by
    itself on the day's first win. It only makes the figures read "0 issued
    today" from midnight on. Rows already on ``day`` or later are untouched;
    returns the coupon type rows rolled over. A sharded type is spread again
    for the day (``quota_rebalance``: each shard an even part of the day's
    quota and of what is left in all).
    """
    earlier = Q(quota_day__isnull=True) | Q(quota_day__lt=day)
    for coupon_type_id in CouponType.objects.filter(
        campaign=campaign, quota_shards__gt=1
    ).values_list("pk", flat=True):
        quota_rebalance(coupon_type_id=coupon_type_id, day=day)
    return (
        CouponType.objects.filter(campaign=campaign)
        .filter(earlier)
        .update(issued_today=0, quota_day=day)
    )
