"""The rush's writes for many requests at once: plain SQL on an asyncio connection.

The group committer (``group_commit``) hands each function here a batch and
the connection, with a transaction open; the function writes the whole batch
and says, item by item, what became of it; the committer commits. They do
what ``rush_reserve`` and ``_grab_write`` do for one request, by the same
rules, with one statement where those take one per request. No ORM runs on
the event loop: tables and columns come from the models' ``_meta``, values
travel as arrays (``unnest``), so a statement's text is the same for any
batch size. Arrays go in binary (``%b``): psycopg writes 300 timestamps as
text in ~1.7 ms, in binary in ~0.15 ms.
"""

import datetime as dt
import enum
import functools
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Model
from psycopg import AsyncConnection, AsyncCursor

from campaigns.models import Campaign, CouponType
from couponsite.codes import generate_codes
from couponsite.errors import DomainError
from customers.models import Customer
from draws.opening import NotInActiveTime
from draws.pool import Release
from draws.rush.models import Grab, Reservation, RushDay
from draws.rush.services.bodies import VoucherRow, grab_body, reservation_body
from draws.rush.services.common import (
    DuplicatedReservation,
    RushNotConfigured,
    coupons_for,
    ratio_per_10000,
)
from vouchers.models import Voucher
from vouchers.services import CODE_ATTEMPTS

# --- What goes in and what comes out ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    campaign_id: int
    day: dt.date
    customer_id: int
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class Reserved:
    """A committed reservation: its row and its ``201`` body."""

    id: int
    customer_id: int
    number: int
    day: dt.date
    created_at: dt.datetime
    body: bytes


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
    GRANTED = "granted"  # committed: the coupon is the customer's
    GONE = "gone"  # the coupon was not free (any more): nothing written
    ALREADY_RECEIVED = (
        "already_received"  # the customer has a grab today: nothing written
    )


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


# --- Names from the models -------------------------------------------------------------


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _column(model: type[Model], field: str) -> str:
    return _quote(model._meta.get_field(field).column)


class _Table:
    """A model's table in SQL: ``str()`` is the table with its alias, each
    attribute the column of that field (by field name), qualified by the alias."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self._model, self._alias = model, alias

    def __str__(self) -> str:
        return f"{_quote(self._model._meta.db_table)} AS {self._alias}"

    def __getattr__(self, field: str) -> str:
        return f"{self._alias}.{_column(self._model, field)}"


def _insert_fields(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.concrete_fields if not f.primary_key)


@functools.cache
def _insert_sql(model: type[Model], fields: tuple[str, ...], tail: str = "") -> str:
    """``INSERT`` of any number of rows: one array per column, zipped by ``unnest``."""
    columns = ", ".join(_column(model, name) for name in fields)
    arrays = ", ".join(
        f"%b::{model._meta.get_field(name).db_type(connection)}[]" for name in fields
    )
    table = _quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) {tail}"


def _insert_params(
    model: type[Model], fields: tuple[str, ...], rows: list[dict]
) -> list[list]:
    """The arrays of ``_insert_sql``: each row's values, the field's default where
    a row gives none (as ``Model.objects.create`` would fill it)."""
    params = []
    for name in fields:
        field = model._meta.get_field(name)
        params.append(
            [row[name] if name in row else field.get_default() for row in rows]
        )
    return params


def _returning(model: type[Model], *fields: str) -> str:
    return "RETURNING " + ", ".join(_column(model, name) for name in fields)


# --- Reservations ---------------------------------------------------------------------


@functools.cache
def _reservation_sql() -> dict[str, str]:
    d, r, t = _Table(RushDay, "d"), _Table(Release, "r"), _Table(CouponType, "t")
    c, x = _Table(Campaign, "c"), _Table(Reservation, "x")
    rush_day = _quote(RushDay._meta.db_table)
    release = _quote(Release._meta.db_table)
    reservations = _column(RushDay, "reservations")
    count = _column(Release, "count")
    return {
        # The day's ticket machine, locked for this transaction (the same lock the
        # counting UPDATE of rush_reserve takes), with what its coupons are made of.
        "lock_day": (
            f"SELECT {d.id}, {d.release}, {d.reservations}, {d.coupons_per_10000}, "
            f"{d.reservations_closed_at} IS NOT NULL, {t.id}, {t.code_length}, "
            f"{t.code_prefix}, {t.benefit_kind}, {t.amount}, {t.currency}, "
            f"{t.percent}, {t.free_item} "
            f"FROM {d} JOIN {r} ON {r.id} = {d.release} "
            f"JOIN {t} ON {t.id} = {r.coupon_type} "
            f"WHERE {d.campaign} = %s AND {d.day} = %s FOR NO KEY UPDATE OF d"
        ),
        "ratio": f"SELECT {c.ratio} FROM {c} WHERE {c.id} = %s",
        "coupon_types": (
            f"SELECT {t.id} FROM {t} WHERE {t.campaign} = %s ORDER BY {t.id} LIMIT 2"
        ),
        "release_insert": _insert_sql(
            Release, _insert_fields(Release), _returning(Release, "id")
        ),
        "day_insert": _insert_sql(
            RushDay,
            _insert_fields(RushDay),
            f"ON CONFLICT ({_column(RushDay, 'campaign')}, {_column(RushDay, 'day')}) "
            f"DO NOTHING {_returning(RushDay, 'id')}",
        ),
        "reserved_already": (
            f"SELECT {x.customer} FROM {x} WHERE {x.campaign} = %s AND {x.day} = %s "
            f"AND {x.customer} = ANY(%b::bigint[])"
        ),
        # The reservations and the counter that numbered them, in one statement.
        "reservations_insert": (
            "WITH inserted AS ("
            + _insert_sql(
                Reservation,
                ("rush_day", "campaign", "customer", "day", "number", "created_at"),
                _returning(Reservation, "id", "customer", "number", "created_at"),
            )
            + f"), counted AS (UPDATE {rush_day} "
            f"SET {reservations} = {reservations} + %s, "
            f"{_column(RushDay, 'coupons')} = ({reservations} + %s) "
            f"* {_column(RushDay, 'coupons_per_10000')} / 10000 "
            f"WHERE {_column(RushDay, 'id')} = %s "
            f"{_returning(RushDay, 'reservations')}) "
            "SELECT inserted.*, counted.* FROM inserted, counted"
        ),
        # Coupons (those whose code is new) and their release's count, likewise.
        "coupons_insert": (
            "WITH made AS ("
            + _insert_sql(
                Voucher,
                _insert_fields(Voucher),
                f"ON CONFLICT ({_column(Voucher, 'code')}) DO NOTHING "
                f"{_returning(Voucher, 'code')}",
            )
            + f"), released AS (UPDATE {release} "
            f"SET {count} = {count} + (SELECT count(*) FROM made) "
            f"WHERE {_column(Release, 'id')} = %s) "
            "SELECT * FROM made"
        ),
    }


@dataclass(frozen=True)
class _Day:
    """The locked counter row and the coupon type its coupons are made of."""

    id: int
    release_id: int
    reservations: int
    coupons_per_10000: int
    closed: bool
    coupon_type_id: int
    code_length: int
    code_prefix: str
    benefit: dict


async def _day_lock(cur: AsyncCursor, campaign_id: int, day: dt.date) -> _Day | None:
    await cur.execute(_reservation_sql()["lock_day"], [campaign_id, day])
    row = await cur.fetchone()
    if row is None:
        return None
    *head, kind, amount, currency, percent, free_item = row
    benefit = {
        "benefit_kind": kind,
        "amount": amount,
        "currency": currency,
        "percent": percent,
        "free_item": free_item,
    }
    return _Day(*head, benefit=benefit)


async def _day_create(cur: AsyncCursor, campaign_id: int, day: dt.date) -> str | None:
    """The day's counter row and its release, as ``rush_day_create`` makes them,
    unless another transaction did: then the savepoint drops our release.

    Without exactly one coupon type to make, what ``RushNotConfigured`` says.
    """
    sql = _reservation_sql()
    await cur.execute(sql["coupon_types"], [campaign_id])
    coupon_types = await cur.fetchall()
    if len(coupon_types) == 0:
        return RushNotConfigured.detail
    if len(coupon_types) > 1:
        return "This rush has more than one coupon type; it hands out exactly one."
    await cur.execute(sql["ratio"], [campaign_id])
    (ratio,) = await cur.fetchone()
    await cur.execute("SAVEPOINT rush_day_create")
    fields = _insert_fields(Release)
    release = {
        "coupon_type": coupon_types[0][0],
        "count": 0,
        "note": f"Rush of {day.isoformat()}",
    }
    await cur.execute(sql["release_insert"], _insert_params(Release, fields, [release]))
    ((release_id,),) = await cur.fetchall()
    fields = _insert_fields(RushDay)
    rush_day = {
        "campaign": campaign_id,
        "day": day,
        "release": release_id,
        "coupons_per_10000": ratio_per_10000(Decimal(ratio)),
    }
    await cur.execute(sql["day_insert"], _insert_params(RushDay, fields, [rush_day]))
    made = await cur.fetchall()
    await cur.execute(
        "RELEASE SAVEPOINT rush_day_create"
        if made
        else "ROLLBACK TO SAVEPOINT rush_day_create"
    )
    return None


async def _coupons_make(
    cur: AsyncCursor, campaign_id: int, day: _Day, made_at: list[dt.datetime]
) -> None:
    """One free coupon of the day per entry of ``made_at`` (its creation time),
    codes drawn now, counted in the day's release; codes that collide with
    stored ones are drawn again."""
    fields = _insert_fields(Voucher)
    pending = [
        {
            "status": Voucher.Status.AVAILABLE.value,
            "campaign": campaign_id,
            "coupon_type": day.coupon_type_id,
            "release": day.release_id,
            "created_at": at,
            **day.benefit,
        }
        for at in made_at
    ]
    for _ in range(CODE_ATTEMPTS):
        codes = generate_codes(
            len(pending), length=day.code_length, prefix=day.code_prefix
        )
        for row, code in zip(pending, codes, strict=True):
            row["code"] = code
        await cur.execute(
            _reservation_sql()["coupons_insert"],
            [*_insert_params(Voucher, fields, pending), day.release_id],
        )
        stored = {code for (code,) in await cur.fetchall()}
        pending = [row for row in pending if row["code"] not in stored]
        if not pending:
            return
    raise RuntimeError(f"{len(pending)} coupon codes kept colliding")


async def reservations_write(
    conn: AsyncConnection,
    *,
    campaign_id: int,
    day: dt.date,
    requests: list[ReservationRequest],
) -> list[Reserved | DomainError]:
    """Reserve each request's customer a place in the day's rush (caller's transaction).

    The rules of ``rush_reserve``, for a batch of one campaign and day (the caller
    checked the kind and the reservation window):

    - The day's counter row is locked first, as ``rush_reserve`` locks it: every
      reservation of the day, by any process and either path, is counted under
      that lock and committed before it is released, so from here on every
      reservation of the day is visible, and nobody else can number one.
    - No counter row yet: it is made with its release (``rush_day_create``;
      ``RUSH_NOT_CONFIGURED`` without exactly one coupon type), and if another
      transaction makes it first, theirs is used.
    - A closed day (the rush is loaded) refuses every request
      (``NOT_IN_ACTIVE_TIME``).
    - Once per customer and day (``ERROR_DUPLICATED_RESERVATION``): a customer
      who already reserved, or who comes twice in the batch (the first one counts).
    - The others get the next numbers, in the batch's order, without a gap: one
      ``INSERT`` of their reservations, one ``UPDATE`` of the counter that also
      sets the day's coupons to floor(reservations * ratio), and the coupons
      those numbers add, made now, each dated by the reservation that earned it.

    The answers are in the order of ``requests``. A database error (a customer
    who does not exist, …) leaves the transaction for the caller to roll back.
    """
    sql = _reservation_sql()
    cur = conn.cursor()
    locked = await _day_lock(cur, campaign_id, day)
    if locked is None:
        not_configured = await _day_create(cur, campaign_id, day)
        if not_configured:
            return [RushNotConfigured(not_configured) for _ in requests]
        locked = await _day_lock(cur, campaign_id, day)
    if locked is None or locked.closed:
        return [
            NotInActiveTime("Reservations for today's rush are closed.")
            for _ in requests
        ]
    customer_ids = [request.customer_id for request in requests]
    await cur.execute(sql["reserved_already"], [campaign_id, day, customer_ids])
    reserved = {customer_id for (customer_id,) in await cur.fetchall()}
    fresh: list[ReservationRequest] = []
    for request in requests:
        if request.customer_id not in reserved:
            reserved.add(request.customer_id)
            fresh.append(request)
    if not fresh:
        return [DuplicatedReservation() for _ in requests]

    first = locked.reservations + 1
    numbers = range(first, first + len(fresh))
    await cur.execute(
        sql["reservations_insert"],
        [
            [locked.id] * len(fresh),
            [campaign_id] * len(fresh),
            [request.customer_id for request in fresh],
            [day] * len(fresh),
            list(numbers),
            [request.now for request in fresh],
            len(fresh),
            len(fresh),
            locked.id,
        ],
    )
    inserted = await cur.fetchall()
    if inserted[0][4] != numbers[-1]:  # the lock says it cannot happen
        raise RuntimeError(
            f"day {locked.id} counted {inserted[0][4]}, not {numbers[-1]}"
        )
    rows = {row[1]: row[:4] for row in inserted}
    per_10000 = locked.coupons_per_10000
    made_at = [
        request.now
        for request, number in zip(fresh, numbers, strict=True)
        for _ in range(
            coupons_for(number, per_10000) - coupons_for(number - 1, per_10000)
        )
    ]
    if made_at:
        await _coupons_make(cur, campaign_id, locked, made_at)

    answers: list[Reserved | DomainError] = []
    for request in requests:
        row = rows.pop(request.customer_id, None)  # a repeat in the batch finds none
        if row is None:
            answers.append(DuplicatedReservation())
            continue
        reservation_id, customer_id, number, created_at = row
        answers.append(
            Reserved(
                id=reservation_id,
                customer_id=customer_id,
                number=number,
                day=day,
                created_at=created_at,
                body=reservation_body(number=number, day=day, created_at=created_at),
            )
        )
    return answers


# --- Grabs ----------------------------------------------------------------------------


_GRAB_FIELDS = ("reservation", "campaign", "customer", "day", "voucher", "via")


@functools.cache
def _grab_sql() -> dict[str, str]:
    v, t, c = _Table(Voucher, "v"), _Table(CouponType, "t"), _Table(Campaign, "c")
    cu, g = _Table(Customer, "cu"), _Table(Grab, "g")

    def set_(field: str) -> str:  # SET names the target's columns unqualified
        return _column(Voucher, field)

    def array(model: type[Model], field: str) -> str:
        return f"%b::{model._meta.get_field(field).db_type(connection)}[]"

    grab_columns = ", ".join(
        _column(Grab, name) for name in (*_GRAB_FIELDS, "created_at")
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
            f"RETURNING w.idx, {v.code}, {v.status}, {v.benefit_kind}, {v.amount}, "
            f"{v.currency}, {v.percent}, {v.free_item}, {v.email}, {v.issued_at}, "
            f"{v.expires_at}, {v.held_until}, {v.used_at}, {v.order_ref}, "
            f"{t.name}, {c.slug}), "
            f"granted AS (INSERT INTO {_quote(Grab._meta.db_table)} ({grab_columns}) "
            "SELECT w.reservation_id, w.campaign_id, w.customer_id, w.day, "
            "w.voucher_id, w.via, w.issued_at FROM taken JOIN w USING (idx) "
            "ORDER BY w.customer_id ON CONFLICT DO NOTHING "
            f"{_returning(Grab, 'voucher', 'id', 'created_at')}) "
            f"SELECT taken.*, granted.{_column(Grab, 'id')}, "
            f"granted.{_column(Grab, 'created_at')} "
            f"FROM taken JOIN w USING (idx) LEFT JOIN granted "
            f"ON granted.{_column(Grab, 'voucher')} = w.voucher_id"
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


async def grabs_write(
    conn: AsyncConnection, *, requests: list[GrabRequest]
) -> list[Grabbed]:
    """Give each winner the coupon Redis popped for them (caller's transaction).

    What ``_grab_write`` does for one grab, for a batch (any campaigns and
    days; no two requests for one coupon):

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
