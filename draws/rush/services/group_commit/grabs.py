"""A batch of Redis's winners, in the caller's transaction.

``_grab_write``'s rules with one statement for the whole batch; see
``grabs_write``.
"""

import datetime as dt
import enum
import functools
from dataclasses import dataclass

from django.db import connection
from django.db.models import Model
from django.utils import timezone
from psycopg import AsyncConnection, AsyncCursor

from campaigns.models import Campaign, CouponType
from couponsite.group_commit.sql import Table, column, quote, returning
from customers.models import Customer
from customers.services.blocking import blocked_refused
from draws.rush.models import Grab
from vouchers.group_commit.bodies import (
    VOUCHER_ROW_FIELDS,
    VoucherRow,
    datetime_text,
    render,
    voucher_data,
)
from vouchers.models import Voucher


@dataclass(frozen=True, slots=True)
class GrabRequest:
    campaign_id: int
    day: dt.date
    customer_id: int
    reservation_id: int
    voucher_id: int
    now: dt.datetime
    via: str


class GrabOutcome(enum.StrEnum):
    """Committed: the coupon is the customer's (``GRANTED``); nothing written:
    the coupon was not free any more (``GONE``), the customer has a grab of the
    day already (``ALREADY_RECEIVED``)."""

    GRANTED = "granted"
    GONE = "gone"
    ALREADY_RECEIVED = "already_received"
    BLOCKED = "blocked"  # the customer is blocked: nothing written


@dataclass(frozen=True, slots=True)
class Grabbed:
    """What became of one winner. ``GRANTED`` carries the grab's id and ``201``
    body; ``GONE`` names the customer whose grab holds the coupon, if one does
    (``settle``'s ``gone_to``); ``ALREADY_RECEIVED`` the coupon the customer's
    grab of the day holds, if one does (``settle``'s ``holds``)."""

    outcome: GrabOutcome
    customer_id: int
    voucher_id: int
    grab_id: int | None = None
    body: bytes | None = None
    holder_id: int | None = None
    holds_voucher_id: int | None = None


def grab_body(
    *,
    voucher: VoucherRow,
    day: dt.date,
    created_at: dt.datetime,
    now: dt.datetime | None = None,
) -> bytes:
    """``GrabSerializer(grab).data``, rendered (``vouchers.group_commit.bodies``);
    the voucher's status as of ``now``. Rush coupons come from a coupon type,
    never from an offer."""
    zone = timezone.get_current_timezone()
    return render(
        {
            "voucher": voucher_data(voucher, now=now or timezone.now(), zone=zone),
            "day": day.isoformat(),
            "created_at": datetime_text(created_at, zone),
        }
    )


_GRAB_FIELDS = ("reservation", "campaign", "customer", "day", "voucher", "via")


@functools.cache
def _grab_sql() -> dict[str, str]:
    v, t, c = Table(Voucher, "v"), Table(CouponType, "t"), Table(Campaign, "c")
    cu, g = Table(Customer, "cu"), Table(Grab, "g")

    def set_(field: str) -> str:  # SET names the target's columns unqualified
        return column(Voucher, field)

    def array(model: type[Model], field: str) -> str:
        return f"%b::{model._meta.get_field(field).db_type(connection)}[]"

    grab_columns = ", ".join(
        column(Grab, name) for name in (*_GRAB_FIELDS, "created_at")
    )
    return {
        # _grab_write's two writes, for every winner at once. The conditional
        # UPDATE takes the coupons still free in their campaign, with the expiry
        # of their type (CouponType.expiry_from: days of 24 hours, never after
        # valid_until) and the owner's email or ""; the INSERT adds the grabs of
        # the coupons taken, in customer order, skipping any that would be a
        # customer's second of the day (or a reservation's or a coupon's second).
        # One row per coupon taken, with its grab's id, or NULL when refused.
        "take_and_grab": (
            "WITH w AS (SELECT * FROM unnest(%b::integer[], "
            + ", ".join(array(Grab, name) for name in _GRAB_FIELDS)
            + ", %b::timestamptz[]) AS w(idx, reservation_id, campaign_id, "
            "customer_id, day, voucher_id, via, issued_at)), "
            f"taken AS (UPDATE {v} SET {set_('status')} = %s, "
            f"{set_('owner')} = w.customer_id, "
            f"{set_('email')} = COALESCE({cu.email}, ''), "
            f"{set_('issued_at')} = w.issued_at, "
            f"{set_('expires_at')} = LEAST(w.issued_at "
            f"+ make_interval(hours => 24 * {t.valid_days}), {t.valid_until}) "
            f"FROM w LEFT JOIN {cu} ON {cu.id} = w.customer_id, {t}, {c} "
            f"WHERE {v.id} = w.voucher_id AND {v.campaign} = w.campaign_id "
            f"AND {v.status} = %s AND {t.id} = {v.coupon_type} "
            f"AND {c.id} = {v.campaign} "
            "RETURNING w.idx, "
            + ", ".join(getattr(v, name) for name in VOUCHER_ROW_FIELDS)
            + f", {t.name}, {c.slug}), "
            f"granted AS (INSERT INTO {quote(Grab._meta.db_table)} ({grab_columns}) "
            "SELECT w.reservation_id, w.campaign_id, w.customer_id, w.day, "
            "w.voucher_id, w.via, w.issued_at FROM taken JOIN w USING (idx) "
            "ORDER BY w.customer_id ON CONFLICT DO NOTHING "
            f"{returning(Grab, 'voucher', 'id', 'created_at')}) "
            f"SELECT taken.*, granted.{column(Grab, 'id')}, "
            f"granted.{column(Grab, 'created_at')} "
            f"FROM taken JOIN w USING (idx) LEFT JOIN granted "
            f"ON granted.{column(Grab, 'voucher')} = w.voucher_id"
        ),
        "holders": (
            f"SELECT {g.voucher}, {g.customer} FROM {g} "
            f"WHERE {g.voucher} = ANY(%b::bigint[])"
        ),
        "holds": (
            f"SELECT {g.campaign}, {g.day}, {g.customer}, {g.voucher} FROM {g} "
            f"WHERE {g.customer} = ANY(%b::bigint[])"
        ),
    }


@dataclass(frozen=True, slots=True)
class _Taken:
    voucher: VoucherRow
    grab_id: int | None  # None: the customer (or reservation) has a grab already
    created_at: dt.datetime | None


async def _take_and_grab(
    cur: AsyncCursor, requests: list[GrabRequest], indexes: list[int]
) -> dict[int, _Taken]:
    """The coupons of those requests that were still free, taken, and their
    grabs where the customer had none: by request index."""
    chosen = [requests[i] for i in indexes]
    await cur.execute(
        _grab_sql()["take_and_grab"],
        [
            indexes,
            [request.reservation_id for request in chosen],
            [request.campaign_id for request in chosen],
            [request.customer_id for request in chosen],
            [request.day for request in chosen],
            [request.voucher_id for request in chosen],
            [request.via for request in chosen],
            [request.now for request in chosen],
            Voucher.Status.ISSUED.value,
            Voucher.Status.AVAILABLE.value,
        ],
    )
    return {
        row[0]: _Taken(VoucherRow(*row[1:-2]), *row[-2:])
        for row in await cur.fetchall()
    }


@blocked_refused(lambda request: _answer(request, GrabOutcome.BLOCKED))
async def grabs_write(
    conn: AsyncConnection, *, requests: list[GrabRequest]
) -> list[Grabbed]:
    """Give each winner the coupon Redis popped for them (caller's transaction).

    What ``_grab_write`` does for one grab, for a batch (any campaigns and
    days; no two requests for one coupon):

    - A blocked customer's coupon is not taken (``BLOCKED``; ``blocked_refused``
      reads their row in this transaction).
    - The coupon is taken only if it is still free in its campaign: one
      conditional ``UPDATE`` for all (``GONE`` for those it did not find: the
      caller tells Redis and asks it for another coupon).
    - One grab per customer and day: one ``INSERT … ON CONFLICT DO NOTHING`` of
      the grabs of the coupons taken, in the same statement as the ``UPDATE``
      (``_grab_sql``). A customer whose grab is refused
      (``ALREADY_RECEIVED``) must leave no trace, as the rolled-back
      transaction of ``_grab_write`` leaves none: the transaction is rolled
      back and written again without them, so their coupons are exactly as
      they were. Each round drops at least one request, so it ends.
    - All coupons are taken before any grab is inserted, coupons asked for in
      the order of their ids, grabs inserted in the order of their customers:
      batches waiting for each other's rows (or for ``_grab_write``'s) seldom
      wait in a circle; when they do, Postgres ends one transaction and the
      committer writes its requests again one by one.

    The answers are in the order of ``requests``; ``GONE`` and
    ``ALREADY_RECEIVED`` name who holds what (``Grabbed``), read in the
    transaction that commits. A database error leaves the transaction for the
    caller to roll back.
    """
    if len({request.voucher_id for request in requests}) != len(requests):
        raise ValueError("two requests for one coupon in a batch")
    sql = _grab_sql()
    answers: dict[int, Grabbed] = {}
    trying = sorted(range(len(requests)), key=lambda i: requests[i].voucher_id)
    while True:
        cur = conn.cursor()
        taken = await _take_and_grab(cur, requests, trying) if trying else {}
        for i in trying:
            if i not in taken:
                answers[i] = _answer(requests[i], GrabOutcome.GONE)
        refused = [i for i, row in taken.items() if row.grab_id is None]
        if not refused:
            break
        await conn.rollback()
        for i in refused:
            answers[i] = _answer(requests[i], GrabOutcome.ALREADY_RECEIVED)
        trying = [i for i in trying if i in taken and taken[i].grab_id is not None]

    for i, row in taken.items():
        request = requests[i]
        answers[i] = _answer(
            request,
            GrabOutcome.GRANTED,
            grab_id=row.grab_id,
            body=grab_body(
                voucher=row.voucher, day=request.day, created_at=row.created_at
            ),
        )
    gone = [i for i, answer in answers.items() if answer.outcome == GrabOutcome.GONE]
    if gone:
        await cur.execute(sql["holders"], [[requests[i].voucher_id for i in gone]])
        holders = dict(await cur.fetchall())
        for i in gone:
            answers[i] = _answer(
                requests[i],
                GrabOutcome.GONE,
                holder_id=holders.get(requests[i].voucher_id),
            )
    refused = [
        i
        for i, answer in answers.items()
        if answer.outcome == GrabOutcome.ALREADY_RECEIVED
    ]
    if refused:
        await cur.execute(sql["holds"], [[requests[i].customer_id for i in refused]])
        holds = {(c, d, customer): v for c, d, customer, v in await cur.fetchall()}
        for i in refused:
            request = requests[i]
            answers[i] = _answer(
                request,
                GrabOutcome.ALREADY_RECEIVED,
                holds_voucher_id=holds.get(
                    (request.campaign_id, request.day, request.customer_id)
                ),
            )
    return [answers[i] for i in range(len(requests))]


def _answer(request: GrabRequest, outcome: GrabOutcome, **found) -> Grabbed:
    return Grabbed(
        outcome=outcome,
        customer_id=request.customer_id,
        voucher_id=request.voucher_id,
        **found,
    )
