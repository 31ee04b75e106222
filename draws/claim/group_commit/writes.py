"""A batch of first claims of one campaign and day, in the caller's transaction.

``claim_take``'s rules with one statement where it takes one per request; see
``claims_write``.
"""

import datetime as dt
import functools
import random
from dataclasses import dataclass

from psycopg import AsyncConnection, AsyncCursor
from psycopg.types.json import Jsonb

from campaigns.models import Campaign, CouponType
from couponsite.errors import DomainError
from couponsite.group_commit import GroupCommitFailed, utc
from couponsite.group_commit.sql import (
    Table,
    column,
    insert_fields,
    insert_params,
    insert_sql,
    returning,
)
from customers.models import Customer
from customers.services.blocking import CustomerBlocked, blocked_refused
from draws.claim.group_commit.bodies import claim_body
from draws.claim.group_commit.reads import ClaimedTodayQuestion, claimed_today_read
from draws.claim.models import Claim
from draws.claim.services import (
    POOL_STATUSES,
    AlreadyClaimedToday,
    claim_range_key,
)
from draws.pool import pool_id_range_held, pool_id_range_keep, pool_random_start
from vouchers.group_commit.bodies import VOUCHER_ROW_FIELDS, VoucherRow
from vouchers.models import Voucher, VoucherEvent

_rng = random.SystemRandom()


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    campaign_id: int
    day: dt.date
    customer_id: int
    now: dt.datetime  # in UTC
    retry_after: float  # seconds to the campaign's local midnight


@dataclass(frozen=True, slots=True)
class Claimed:
    """A committed first claim: its row's id and its ``201`` body."""

    id: int
    customer_id: int
    body: bytes


_CLAIM_FIELDS = ("customer", "campaign", "day", "voucher", "held_until", "created_at")


@functools.cache
def _claim_sql() -> dict[str, str]:
    t, c = Table(CouponType, "t"), Table(Campaign, "c")
    v, cu = Table(Voucher, "v"), Table(Customer, "cu")
    held, available = Voucher.Status.HELD.value, Voucher.Status.AVAILABLE.value
    in_pool = ", ".join(f"'{status.value}'" for status in POOL_STATUSES)
    # _pick_of_type's rows: the type's pool (the partial index voucher_pool_pick),
    # claimable at now (available, or held with the hold run out), unexpired.
    free = (
        f"{v.coupon_type} = %(type)s AND {v.status} IN ({in_pool}) "
        f"AND ({v.status} = '{available}' "
        f"OR ({v.status} = '{held}' AND {v.held_until} <= %(now)s)) "
        f"AND ({v.expires_at} IS NULL OR {v.expires_at} > %(now)s)"
    )
    picked = f"{v.id}, {v.status}, {v.held_until}, {v.owner}"

    def part(op: str) -> str:
        # pool_pick's: in id order from the start, locked, others' locks skipped
        return (
            f"SELECT {picked} FROM {v} WHERE {free} "
            f"AND {v.id} {op} %(start)s "
            f"ORDER BY {v.id} LIMIT %(count)s FOR UPDATE OF v SKIP LOCKED"
        )

    def set_(field: str) -> str:  # SET names the target's columns unqualified
        return column(Voucher, field)

    once = ", ".join(column(Claim, name) for name in ("customer", "campaign", "day"))
    return {
        "types": (
            f"SELECT {t.id}, {t.name}, {t.hold_seconds}, {c.slug} FROM {t} "
            f"JOIN {c} ON {c.id} = {t.campaign} WHERE {t.campaign} = %s"
        ),
        # The bounds of the type's pool, for the random start (pool_pick's).
        "bounds": (
            f"SELECT min({v.id}), max({v.id}) FROM {v} "
            f"WHERE {v.coupon_type} = %s AND {v.status} IN ({in_pool})"
        ),
        # pool_pick for many claims: the free rows from the start up, then below.
        "pick": (
            f"WITH above AS ({part('>=')}), below AS ({part('<')}) "
            "SELECT * FROM above UNION ALL SELECT * FROM below LIMIT %(count)s"
        ),
        # The claims, in customer order, each with its coupon; a customer's
        # second of the day is skipped (the once-a-day constraint).
        "claims_insert": insert_sql(
            Claim,
            _CLAIM_FIELDS,
            f"ORDER BY 1 ON CONFLICT ({once}) DO NOTHING "
            + returning(Claim, "id", "customer"),
        ),
        # _hold's UPDATE for the batch, with its conditions again on the
        # locked rows (free at the claim's time): one holder at any moment.
        "hold": (
            "WITH w AS (SELECT * FROM unnest(%b::bigint[], %b::bigint[], "
            "%b::timestamptz[], %b::timestamptz[]) AS w(voucher, customer, "
            "held_until, now)) "
            f"UPDATE {v} SET {set_('status')} = '{held}', "
            f"{set_('owner')} = w.customer, "
            f"{set_('email')} = COALESCE({cu.email}, ''), "
            f"{set_('held_until')} = w.held_until, {set_('issued_at')} = w.now "
            f"FROM w, {cu} WHERE {v.id} = w.voucher AND {cu.id} = w.customer "
            f"AND ({v.status} = '{available}' "
            f"OR ({v.status} = '{held}' AND {v.held_until} <= w.now)) "
            f"RETURNING {v.id}, " + ", ".join(getattr(v, f) for f in VOUCHER_ROW_FIELDS)
        ),
        "events_insert": insert_sql(VoucherEvent, insert_fields(VoucherEvent)),
    }


@dataclass(frozen=True, slots=True)
class _Type:
    id: int
    name: str
    hold_seconds: int
    slug: str


@dataclass(frozen=True, slots=True)
class _Picked:
    id: int
    coupon_type: _Type
    status: str
    held_until: dt.datetime | None
    owner_id: int | None


async def _random_start(cur: AsyncCursor, coupon_type_id: int) -> int:
    """A random start in the type's id range, as ``pool_pick`` draws it (the
    range this process holds, else read now and kept)."""
    key = claim_range_key(coupon_type_id)
    bounds = pool_id_range_held(key)
    if bounds is None:
        await cur.execute(_claim_sql()["bounds"], [coupon_type_id])
        bounds = await cur.fetchone()
        pool_id_range_keep(key, *bounds)
    return pool_random_start(*bounds)


async def _pick(
    cur: AsyncCursor, types: list[_Type], now: dt.datetime, count: int
) -> list[_Picked]:
    """Lock up to ``count`` free coupons of the types (tried in random order,
    as ``_pick`` tries them), skipping those others have locked."""
    picked: list[_Picked] = []
    for coupon_type in _rng.sample(types, len(types)):
        if len(picked) == count:
            break
        await cur.execute(
            _claim_sql()["pick"],
            {
                "type": coupon_type.id,
                "now": now,
                "count": count - len(picked),
                "start": await _random_start(cur, coupon_type.id),
            },
        )
        picked += [
            _Picked(voucher_id, coupon_type, status, held_until, owner_id)
            for voucher_id, status, held_until, owner_id in await cur.fetchall()
        ]
    return picked


@blocked_refused(lambda request: CustomerBlocked())
async def claims_write(
    conn: AsyncConnection,
    *,
    campaign_id: int,
    day: dt.date,
    requests: list[ClaimRequest],
) -> list[Claimed | DomainError | GroupCommitFailed]:
    """Commit each request's first claim of ``day`` (caller's transaction).

    ``claim_take``'s rules for a batch of one campaign and day (the route
    checked the campaign is running and found no "claimed today" mark and no
    sold-out flag):

    - A blocked customer is refused ``CUSTOMER_BLOCKED`` (``blocked_refused``:
      their row read in this transaction) and left out.
    - Once per customer, campaign and day: the customers holding a claim of
      the day are found first (one indexed ``SELECT``) and refused
      ``ALREADY_CLAIMED_TODAY``; the others' claims are inserted with ``INSERT
      … ON CONFLICT DO NOTHING``, in customer order, so the unique constraint
      still decides (a claim committed meanwhile on Django's path: refused
      too). A customer twice in the batch: the first request counts.
    - As many free coupons as new claims are locked as ``_pick`` locks one
      (the same rows, order and index; ``FOR UPDATE SKIP LOCKED`` from a
      random start, so parallel batches take different rows), and the
      batch's first customers get them; each is held for its type's
      ``hold_seconds`` by one conditional ``UPDATE`` (still free at the
      claim's time: one holder at any moment), with ``_hold``'s history rows
      (``EXPIRED`` for a lapsed hold taken again, ``CLAIMED``).
    - A customer left without a coupon gets no claim row: ``GroupCommitFailed``
      as the answer, and Django decides (``SOLD_OUT``, flagged, or a coupon
      freed since).

    The answers are in the order of ``requests``.
    """
    sql = _claim_sql()
    cur = conn.cursor()
    await cur.execute(sql["types"], [campaign_id])
    types = [_Type(*row) for row in await cur.fetchall()]
    claimed = await claimed_today_read(
        conn,
        campaign_id=campaign_id,
        day=day,
        questions=[
            ClaimedTodayQuestion(campaign_id, day, request.customer_id)
            for request in requests
        ],
    )
    first: dict[int, int] = {}  # customer: index of their request here
    for i, request in enumerate(requests):
        if not claimed[i]:
            first.setdefault(request.customer_id, i)
    fresh = sorted(first.values())  # batch order: the first come are served
    picked = await _pick(cur, types, min(r.now for r in requests), len(fresh))
    served = dict(zip(fresh, picked, strict=False))  # request index: coupon
    inserted = await _claims_insert(cur, campaign_id, day, requests, served)
    held = await _hold(cur, campaign_id, requests, served, inserted)

    answers: list[Claimed | DomainError | GroupCommitFailed] = []
    for i, request in enumerate(requests):
        mine = first.get(request.customer_id)
        if claimed[i] or (request.customer_id in inserted and mine != i):
            answers.append(AlreadyClaimedToday(retry_after=request.retry_after))
        elif mine not in served:
            answers.append(GroupCommitFailed("no coupon picked: Django decides"))
        elif request.customer_id not in inserted:  # the constraint refused it
            answers.append(AlreadyClaimedToday(retry_after=request.retry_after))
        else:
            claim_id, held_until = inserted[request.customer_id]
            answers.append(
                Claimed(
                    id=claim_id,
                    customer_id=request.customer_id,
                    body=claim_body(
                        claim_id=claim_id,
                        day=day,
                        held_until=held_until,
                        created_at=request.now,
                        voucher=held[served[mine].id],
                        now=request.now,
                    ),
                )
            )
    return answers


def _held_until(request: ClaimRequest, coupon: _Picked) -> dt.datetime:
    return request.now + dt.timedelta(seconds=max(1, coupon.coupon_type.hold_seconds))


async def _claims_insert(
    cur: AsyncCursor,
    campaign_id: int,
    day: dt.date,
    requests: list[ClaimRequest],
    served: dict[int, _Picked],
) -> dict[int, tuple[int, dt.datetime]]:
    """The served customers' claims; by customer, those inserted (id, hold's end)."""
    if not served:
        return {}
    rows = [
        {
            "customer": requests[i].customer_id,
            "campaign": campaign_id,
            "day": day,
            "voucher": coupon.id,
            "held_until": _held_until(requests[i], coupon),
            "created_at": requests[i].now,
        }
        for i, coupon in served.items()
    ]
    await cur.execute(
        _claim_sql()["claims_insert"], insert_params(Claim, _CLAIM_FIELDS, rows)
    )
    ids = dict((customer, claim_id) for claim_id, customer in await cur.fetchall())
    return {
        row["customer"]: (ids[row["customer"]], row["held_until"])
        for row in rows
        if row["customer"] in ids
    }


async def _hold(
    cur: AsyncCursor,
    campaign_id: int,
    requests: list[ClaimRequest],
    served: dict[int, _Picked],
    inserted: dict[int, tuple[int, dt.datetime]],
) -> dict[int, VoucherRow]:
    """``_hold``'s writes for the inserted claims; by voucher id, its row."""
    mine = [
        (requests[i], coupon)
        for i, coupon in served.items()
        if requests[i].customer_id in inserted
    ]
    if not mine:
        return {}
    await cur.execute(
        _claim_sql()["hold"],
        [
            [coupon.id for _, coupon in mine],
            [request.customer_id for request, _ in mine],
            [inserted[request.customer_id][1] for request, _ in mine],
            [request.now for request, _ in mine],
        ],
    )
    rows = {}
    for voucher_id, *fields in await cur.fetchall():
        rows[voucher_id] = fields
    if len(rows) != len(mine):  # the coupons are locked: never, unless a bug
        raise RuntimeError(f"{len(rows)} of {len(mine)} claimed coupons held")

    events = []
    for request, coupon in mine:
        claim_id, held_until = inserted[request.customer_id]
        if coupon.status == Voucher.Status.HELD:  # its last holder let it run out
            events.append(
                {
                    "voucher": coupon.id,
                    "kind": VoucherEvent.Kind.EXPIRED.value,
                    "campaign": campaign_id,
                    "customer": coupon.owner_id,
                    "actor": None,
                    "reason": "Hold ran out; the coupon was claimed again.",
                    "data": Jsonb({"held_until": utc(coupon.held_until).isoformat()}),
                    "created_at": request.now,
                }
            )
        events.append(
            {
                "voucher": coupon.id,
                "kind": VoucherEvent.Kind.CLAIMED.value,
                "campaign": campaign_id,
                "customer": request.customer_id,
                "actor": None,
                "reason": "",
                "data": Jsonb(
                    {"claim": claim_id, "held_until": held_until.isoformat()}
                ),
                "created_at": request.now,
            }
        )
    await cur.execute(
        _claim_sql()["events_insert"],
        insert_params(VoucherEvent, insert_fields(VoucherEvent), events),
    )
    return {
        coupon.id: VoucherRow(
            *rows[coupon.id], coupon.coupon_type.name, coupon.coupon_type.slug
        )
        for _, coupon in mine
    }
