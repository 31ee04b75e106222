"""A batch of reservations of one rush day, in the caller's transaction.

``rush_reserve``'s rules with one statement where it takes one per request;
see ``reservations_write``.
"""

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg import AsyncConnection, AsyncCursor

from campaigns.models import BENEFIT_FIELDS, RULES_FIELDS, Campaign, CouponType
from couponsite.codes import generate_codes
from couponsite.errors import DomainError
from couponsite.group_commit.sql import (
    Table,
    column,
    insert_fields,
    insert_params,
    insert_sql,
    quote,
    returning,
)
from customers.services.blocking import CustomerBlocked, blocked_refused
from draws.opening import NotInActiveTime
from draws.pool import Release
from draws.rush.models import Reservation, RushDay
from draws.rush.services.common import (
    DuplicatedReservation,
    RushNotConfigured,
    coupons_for,
    ratio_per_10000,
)
from vouchers.group_commit.bodies import datetime_text, render
from vouchers.models import Voucher
from vouchers.services import CODE_ATTEMPTS


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


def reservation_body(*, number: int, day: dt.date, created_at: dt.datetime) -> bytes:
    """``ReservationSerializer(reservation).data``, rendered (``bodies``)."""
    zone = timezone.get_current_timezone()
    return render(
        {
            "number": number,
            "day": day.isoformat(),
            "created_at": datetime_text(created_at, zone),
        }
    )


# The coupon type's fields its coupons copy (``CouponType.benefit_fields``).
SNAPSHOT_FIELDS = (*BENEFIT_FIELDS, *RULES_FIELDS)


@functools.cache
def _reservation_sql() -> dict[str, str]:
    d, r, t = Table(RushDay, "d"), Table(Release, "r"), Table(CouponType, "t")
    c, x = Table(Campaign, "c"), Table(Reservation, "x")
    rush_day = quote(RushDay._meta.db_table)
    release = quote(Release._meta.db_table)
    reservations = column(RushDay, "reservations")
    count = column(Release, "count")
    return {
        # The day's ticket machine, locked for this transaction (the same lock the
        # counting UPDATE of rush_reserve takes), with what its coupons are made of.
        "lock_day": (
            f"SELECT {d.id}, {d.release}, {d.reservations}, {d.coupons_per_10000}, "
            f"{d.reservations_closed_at} IS NOT NULL, {t.id}, {t.code_length}, "
            f"{t.code_prefix}, "
            + ", ".join(getattr(t, name) for name in SNAPSHOT_FIELDS)
            + " "
            f"FROM {d} JOIN {r} ON {r.id} = {d.release} "
            f"JOIN {t} ON {t.id} = {r.coupon_type} "
            f"WHERE {d.campaign} = %s AND {d.day} = %s FOR NO KEY UPDATE OF d"
        ),
        "ratio": f"SELECT {c.ratio} FROM {c} WHERE {c.id} = %s",
        "coupon_types": (
            f"SELECT {t.id} FROM {t} WHERE {t.campaign} = %s ORDER BY {t.id} LIMIT 2"
        ),
        "release_insert": insert_sql(
            Release, insert_fields(Release), returning(Release, "id")
        ),
        "day_insert": insert_sql(
            RushDay,
            insert_fields(RushDay),
            f"ON CONFLICT ({column(RushDay, 'campaign')}, {column(RushDay, 'day')}) "
            f"DO NOTHING {returning(RushDay, 'id')}",
        ),
        "reserved_already": (
            f"SELECT {x.customer} FROM {x} WHERE {x.campaign} = %s AND {x.day} = %s "
            f"AND {x.customer} = ANY(%b::bigint[])"
        ),
        # The reservations and the counter that numbered them, in one statement.
        "reservations_insert": (
            "WITH inserted AS ("
            + insert_sql(
                Reservation,
                ("rush_day", "campaign", "customer", "day", "number", "created_at"),
                returning(Reservation, "id", "customer", "number", "created_at"),
            )
            + f"), counted AS (UPDATE {rush_day} "
            f"SET {reservations} = {reservations} + %s, "
            f"{column(RushDay, 'coupons')} = ({reservations} + %s) "
            f"* {column(RushDay, 'coupons_per_10000')} / 10000 "
            f"WHERE {column(RushDay, 'id')} = %s "
            f"{returning(RushDay, 'reservations')}) "
            "SELECT inserted.*, counted.* FROM inserted, counted"
        ),
        # Coupons (those whose code is new) and their release's count, likewise.
        "coupons_insert": (
            "WITH made AS ("
            + insert_sql(
                Voucher,
                insert_fields(Voucher),
                f"ON CONFLICT ({column(Voucher, 'code')}) DO NOTHING "
                f"{returning(Voucher, 'code')}",
            )
            + f"), released AS (UPDATE {release} "
            f"SET {count} = {count} + (SELECT count(*) FROM made) "
            f"WHERE {column(Release, 'id')} = %s) "
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
    head, copied = row[: -len(SNAPSHOT_FIELDS)], row[-len(SNAPSHOT_FIELDS) :]
    # The benefit and redemption rules its coupons copy (``benefit_fields``).
    benefit = dict(zip(SNAPSHOT_FIELDS, copied, strict=True))
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
    fields = insert_fields(Release)
    release = {
        "coupon_type": coupon_types[0][0],
        "count": 0,
        "note": f"Rush of {day.isoformat()}",
    }
    await cur.execute(sql["release_insert"], insert_params(Release, fields, [release]))
    ((release_id,),) = await cur.fetchall()
    fields = insert_fields(RushDay)
    rush_day = {
        "campaign": campaign_id,
        "day": day,
        "release": release_id,
        "coupons_per_10000": ratio_per_10000(Decimal(ratio)),
    }
    await cur.execute(sql["day_insert"], insert_params(RushDay, fields, [rush_day]))
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
    fields = insert_fields(Voucher)
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
    for _attempt in range(CODE_ATTEMPTS):
        codes = generate_codes(
            len(pending), length=day.code_length, prefix=day.code_prefix
        )
        for row, code in zip(pending, codes, strict=True):
            row["code"] = code
        await cur.execute(
            _reservation_sql()["coupons_insert"],
            [*insert_params(Voucher, fields, pending), day.release_id],
        )
        stored = {code for (code,) in await cur.fetchall()}
        pending = [row for row in pending if row["code"] not in stored]
        if not pending:
            return
    raise RuntimeError(f"{len(pending)} coupon codes kept colliding")


@blocked_refused(lambda request: CustomerBlocked())
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

    - A blocked customer is refused ``CUSTOMER_BLOCKED`` (``blocked_refused``:
      their row read in this transaction) and left out.
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
            return [RushNotConfigured(not_configured) for _request in requests]
        locked = await _day_lock(cur, campaign_id, day)
    if locked is None or locked.closed:
        return [
            NotInActiveTime(_("Reservations for today's rush are closed."))
            for _request in requests
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
        return [DuplicatedReservation() for _request in requests]

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
        for _attempt in range(
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
