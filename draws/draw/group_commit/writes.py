"""A batch of first draws of one campaign and day, in the caller's transaction.

``draw_run``'s rules with one statement where it takes one per request; see
``draws_write``.
"""

import datetime as dt
import functools
from dataclasses import dataclass

from django.db import connection
from psycopg import AsyncConnection, AsyncCursor
from psycopg.types.json import Jsonb

from campaigns.models import RULES_FIELDS, Campaign, CouponType, QuotaShard
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
from customers.models import Customer
from customers.services.blocking import CustomerBlocked, blocked_refused
from draws.draw.group_commit.bodies import draw_body, voucher_row
from draws.draw.models import Draw
from draws.draw.services import WIN_NOTICE, AlreadyDrawnToday, win_message
from messaging.group_commit import QueuedSms, sms_insert
from vouchers.group_commit.bodies import VoucherRow
from vouchers.models import Voucher


@dataclass(frozen=True, slots=True)
class DrawRequest:
    campaign_id: int
    day: dt.date
    customer_id: int
    now: dt.datetime
    roll: float
    coupon_type_id: int | None  # the type the roll picked; None: no prize
    odds: list
    retry_after: float  # seconds to the campaign's local midnight
    from_seed: bool = False  # the roll is the day's seed's (draws.draw.fairness)
    # The winner's text's: their saved language, else the request's (as
    # draw_run's message_language), which the thin path answers in too.
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon won: what the winner's text message says."""

    code: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Drawn:
    """A committed first draw: its row, its ``201`` body, and for a win the
    coupon type (a row as the draw's transaction read it), the coupon, the
    winner's phone and their text's message (written in the batch, its send
    task enqueued after commit)."""

    id: int
    customer_id: int
    won: bool
    body: bytes
    coupon_type: CouponType | None = None
    coupon: Coupon | None = None
    phone: str = ""
    message_id: int | None = None  # the winner's text, written with the draw


_DRAW_FIELDS = (
    "customer",
    "campaign",
    "day",
    "won",
    "coupon_type",
    "roll",
    "odds",
    "created_at",
    "from_seed",
)
# The coupon type's columns a win needs (its body, its coupon, its text).
_TYPE_FIELDS = (
    "id",
    "campaign",
    "name",
    "category",
    "benefit_kind",
    "amount",
    "currency",
    "percent",
    "free_item",
    "probability",
    "total_quota",
    "daily_quota",
    "valid_days",
    "valid_until",
    "hold_seconds",
    "code_prefix",
    "code_length",
    *RULES_FIELDS,  # copied onto the coupon with the benefit
)


@functools.cache
def _draw_sql() -> dict[str, str]:
    cu, c = Table(Customer, "cu"), Table(Campaign, "c")
    t, u = Table(CouponType, "t"), Table(CouponType, "u")
    once = ", ".join(column(Draw, name) for name in ("customer", "campaign", "day"))
    # What the row has issued on the day (0 while it is still on an earlier one).
    t_today = f"CASE WHEN {t.quota_day} = %(day)s THEN {t.issued_today} ELSE 0 END"
    u_today = f"CASE WHEN {u.quota_day} = %(day)s THEN {u.issued_today} ELSE 0 END"

    def set_(field: str) -> str:  # SET names the target's columns unqualified
        return column(CouponType, field)

    s, v = Table(QuotaShard, "s"), Table(QuotaShard, "v")
    s_today = f"CASE WHEN {s.quota_day} = %(day)s THEN {s.issued_today} ELSE 0 END"
    v_today = f"CASE WHEN {v.quota_day} = %(day)s THEN {v.issued_today} ELSE 0 END"

    return {
        # The draws, in customer order, skipping a customer's second of the day
        # (the once-a-day constraint), with each new one's customer's email and
        # phone (the coupon's email, the winner's text).
        "draws_insert": (
            "WITH inserted AS ("
            + insert_sql(
                Draw,
                _DRAW_FIELDS,
                f"ORDER BY 1 ON CONFLICT ({once}) DO NOTHING "
                + returning(Draw, "id", "customer"),
            )
            + f") SELECT inserted.*, {cu.email}, {cu.phone} FROM inserted "
            f"LEFT JOIN {cu} ON {cu.id} = inserted.{column(Draw, 'customer')}"
        ),
        # quota_take for many winners at once: each type's row locked (in id
        # order), then as many units taken as both quotas allow, rolled over to
        # the day as quota_take rolls it; a row already on a later day is never
        # rolled back. The UPDATE checks the quotas again against the units
        # taken: it never takes more than they allow, whatever the lock saw.
        "quotas_take": (
            "WITH wanted AS (SELECT * FROM unnest(%(ids)b::bigint[], "
            "%(wins)b::integer[]) AS w(id, wins)), "
            f"locked AS (SELECT {t.id}, LEAST(wanted.wins, "
            f"COALESCE({t.total_quota} - {t.issued_total}, wanted.wins), "
            f"COALESCE({t.daily_quota} - {t_today}, wanted.wins)) AS granted "
            f"FROM {t} JOIN wanted ON wanted.id = {t.id} "
            f"WHERE {t.quota_shards} = 1 "
            f"AND ({t.quota_day} IS NULL OR {t.quota_day} <= %(day)s) "
            f"ORDER BY {t.id} FOR NO KEY UPDATE OF t) "
            f"UPDATE {u} SET {set_('issued_total')} = {u.issued_total} + granted, "
            f"{set_('issued_today')} = {u_today} + granted, "
            f"{set_('quota_day')} = %(day)s "
            f"FROM locked, {c} "
            f"WHERE {u.id} = locked.id AND granted > 0 AND {c.id} = {u.campaign} "
            f"AND ({u.total_quota} IS NULL "
            f"OR {u.issued_total} + granted <= {u.total_quota}) "
            f"AND ({u.daily_quota} IS NULL "
            f"OR {u_today} + granted <= {u.daily_quota}) "
            f"AND ({u.quota_day} IS NULL OR {u.quota_day} <= %(day)s) "
            f"AND {u.quota_shards} = 1 "
            "RETURNING granted, "
            + ", ".join(getattr(u, name) for name in _TYPE_FIELDS)
            + f", {c.slug}, {c.name}, {c.timezone}"
        ),
        # The same for sharded types (``campaigns.quotas``): every shard of
        # each type locked (in type and slot order, as ``quota_spread`` locks
        # them), the winners granted from slot to slot as far as each shard's
        # shares allow, the UPDATE checking the shares again. Its rows have
        # the shape of ``quotas_take``'s, one per type, units summed.
        "shards_take": (
            "WITH wanted AS (SELECT * FROM unnest(%(ids)b::bigint[], "
            "%(wins)b::integer[]) AS w(id, wins)), "
            f"locked AS (SELECT {s.id}, {s.coupon_type} AS type, {s.slot}, "
            f"wanted.wins, LEAST(wanted.wins, "
            f"COALESCE({s.total_share} - {s.issued_total}, wanted.wins), "
            f"COALESCE({s.daily_share} - {s_today}, wanted.wins)) AS room "
            f"FROM {s} JOIN wanted ON wanted.id = {s.coupon_type} "
            f"WHERE {s.quota_day} IS NULL OR {s.quota_day} <= %(day)s "
            f"ORDER BY {s.coupon_type}, {s.slot} FOR NO KEY UPDATE OF s), "
            "granted AS (SELECT id, LEAST(room, GREATEST(0, wins - (SUM(room) OVER "
            "(PARTITION BY type ORDER BY slot) - room))) AS granted FROM locked), "
            f"took AS (UPDATE {v} SET {column(QuotaShard, 'issued_total')} = "
            f"{v.issued_total} + granted, "
            f"{column(QuotaShard, 'issued_today')} = {v_today} + granted, "
            f"{column(QuotaShard, 'quota_day')} = %(day)s "
            f"FROM granted WHERE {v.id} = granted.id AND granted > 0 "
            f"AND ({v.total_share} IS NULL "
            f"OR {v.issued_total} + granted <= {v.total_share}) "
            f"AND ({v.daily_share} IS NULL "
            f"OR {v_today} + granted <= {v.daily_share}) "
            f"AND ({v.quota_day} IS NULL OR {v.quota_day} <= %(day)s) "
            f"RETURNING {v.coupon_type} AS type, granted) "
            "SELECT SUM(took.granted)::integer, "
            + ", ".join(getattr(t, name) for name in _TYPE_FIELDS)
            + f", {c.slug}, {c.name}, {c.timezone} "
            f"FROM took JOIN {t} ON {t.id} = took.type "
            f"JOIN {c} ON {c.id} = {t.campaign} GROUP BY {t.id}, {c.id}"
        ),
        # The winners' coupons, and their draws marked won with them (matched
        # by the coupon's code, which is unique).
        "coupons_insert": (
            "WITH made AS ("
            + insert_sql(
                Voucher, insert_fields(Voucher), returning(Voucher, "id", "code")
            )
            + "), won AS (SELECT made.id AS voucher, w.draw FROM made "
            f"JOIN unnest(%b::{_code_type()}[], %b::bigint[]) AS w(code, draw) "
            f"ON w.code = made.{column(Voucher, 'code')}) "
            f"UPDATE {quote(Draw._meta.db_table)} "
            f"SET {column(Draw, 'won')} = TRUE, "
            f"{column(Draw, 'voucher')} = won.voucher FROM won "
            f"WHERE {column(Draw, 'id')} = won.draw"
        ),
    }


def _code_type() -> str:
    return Voucher._meta.get_field("code").db_type(connection)


def _type_row(values: tuple) -> tuple[int, CouponType, str, Campaign]:
    """A ``quotas_take`` row: the units granted, the coupon type (a row as the
    transaction read it, not saved from here), its campaign's slug, and the
    campaign's name and zone (what the winner's text says; not saved either)."""
    granted, *fields, slug, name, zone = values
    coupon_type = CouponType(
        **{
            (f"{name}_id" if name == "campaign" else name): value
            for name, value in zip(_TYPE_FIELDS, fields, strict=True)
        }
    )
    campaign = Campaign(pk=coupon_type.campaign_id, name=name, timezone=zone)
    return granted, coupon_type, slug, campaign


async def _quotas_take(
    cur: AsyncCursor, day: dt.date, wins: dict[int, int]
) -> dict[int, tuple[int, CouponType, str, Campaign]]:
    """``quota_take`` for ``wins`` (coupon type id: winners): by type, the units
    granted (none: absent), the type, its campaign's slug and the campaign.

    Unsharded types take from their rows in one statement; the others (and
    the spent ones) from their shards in a second, only when there are any.
    Never over a quota; unlike ``quota_take``, a batch does not spread a
    type's shards again, so at the very tail of a quota, when what is left is
    split so that no shard holds room of both quotas, its winners lose until
    a draw on the Django path (or the day's opening) spreads it again.
    """
    ids = sorted(wins)
    await cur.execute(
        _draw_sql()["quotas_take"],
        {"ids": ids, "wins": [wins[i] for i in ids], "day": day},
    )
    granted = {row[1]: _type_row(row) for row in await cur.fetchall()}
    # The types it gave nothing: spent, or sharded (their shards' statement).
    rest = [i for i in ids if i not in granted]
    if rest:
        await cur.execute(
            _draw_sql()["shards_take"],
            {"ids": rest, "wins": [wins[i] for i in rest], "day": day},
        )
        granted |= {row[1]: _type_row(row) for row in await cur.fetchall()}
    return granted


@blocked_refused(lambda request: CustomerBlocked())
async def draws_write(
    conn: AsyncConnection,
    *,
    campaign_id: int,
    day: dt.date,
    requests: list[DrawRequest],
) -> list[Drawn | DomainError]:
    """Commit each request's first draw of ``day`` (caller's transaction).

    ``draw_run``'s rules for a batch of one campaign and day (the route
    checked the campaign is running and made each roll with the odds it
    holds):

    - A blocked customer is refused ``CUSTOMER_BLOCKED`` (``blocked_refused``:
      their row read in this transaction) and left out.
    - Once per customer, campaign and day: one ``INSERT … ON CONFLICT DO
      NOTHING`` of the draws, in customer order; the unique constraint
      decides, as in ``draw_run``. A customer whose draw it does not insert
      (they drew already, on either path), or who comes twice in the batch
      (the first one counts), is refused ``ALREADY_DRAWN_TODAY``.
    - The rolls that picked a coupon type take their units in one statement:
      each type's row locked in id order, as many units taken as its total
      and daily quotas allow (rolled over to the day as ``quota_take`` does),
      and those go to the type's first winners in the batch; the others lose,
      their draw keeping the type the roll landed on, as in ``draw_run``.
    - The coupons of the winners, made now with fresh codes, in one
      ``INSERT`` with their draws marked won (a code that collides with a
      stored one fails the group: the committer writes each request again
      alone, with new codes).
    - The winners' texts (``draw_run``'s ``win_message``), in one ``INSERT``
      of pending messages (``messaging.group_commit``): they commit or roll
      back with the draws; the route enqueues their send after the commit.

    The answers are in the order of ``requests``. A database error (a
    customer who does not exist, …) leaves the transaction for the caller to
    roll back.
    """
    sql = _draw_sql()
    cur = conn.cursor()
    first: dict[int, int] = {}  # customer: index of their request here
    for i, request in enumerate(requests):
        first.setdefault(request.customer_id, i)
    fresh = sorted(first.values(), key=lambda i: requests[i].customer_id)
    rows = [
        {
            "customer": requests[i].customer_id,
            "campaign": campaign_id,
            "day": day,
            "won": False,
            "coupon_type": requests[i].coupon_type_id,
            "roll": requests[i].roll,
            "odds": Jsonb(requests[i].odds),
            "created_at": requests[i].now,
            "from_seed": requests[i].from_seed,
        }
        for i in fresh
    ]
    await cur.execute(sql["draws_insert"], insert_params(Draw, _DRAW_FIELDS, rows))
    inserted = {
        customer_id: (draw_id, email, phone)
        for draw_id, customer_id, email, phone in await cur.fetchall()
    }

    winners: dict[int, list[int]] = {}  # coupon type: indexes, in batch order
    for i in sorted(first[customer] for customer in inserted):
        if requests[i].coupon_type_id is not None:
            winners.setdefault(requests[i].coupon_type_id, []).append(i)
    granted = (
        await _quotas_take(cur, day, {t: len(w) for t, w in winners.items()})
        if winners
        else {}
    )
    coupons: dict[int, tuple[CouponType, str, Coupon, VoucherRow]] = {}
    texts: dict[int, QueuedSms] = {}  # request index: the winner's text
    for coupon_type_id, indexes in winners.items():
        if coupon_type_id not in granted:
            continue
        units, coupon_type, slug, campaign = granted[coupon_type_id]
        codes = generate_codes(
            units, length=coupon_type.code_length, prefix=coupon_type.code_prefix
        )
        for i, code in zip(indexes[:units], codes, strict=True):
            request = requests[i]
            email = inserted[request.customer_id][1] or ""
            expires_at = coupon_type.expiry_from(request.now)
            coupons[i] = (
                coupon_type,
                slug,
                Coupon(code=code, expires_at=expires_at),
                voucher_row(coupon_type, slug, code, email, request.now, expires_at),
            )
            texts[i] = QueuedSms(
                to=inserted[request.customer_id][2],
                body=win_message(
                    campaign, coupon_type, coupons[i][2], language=request.language
                ),
                kind=WIN_NOTICE,
                now=request.now,
            )
    message_ids: dict[str, int] = {}
    if coupons:
        await _coupons_insert(cur, requests, inserted, coupons)
        message_ids = await sms_insert(cur, list(texts.values()))

    answers: list[Drawn | DomainError] = []
    for i, request in enumerate(requests):
        if first[request.customer_id] != i or request.customer_id not in inserted:
            answers.append(AlreadyDrawnToday(retry_after=request.retry_after))
            continue
        draw_id, _, phone = inserted[request.customer_id]
        won = coupons.get(i)
        answers.append(
            Drawn(
                id=draw_id,
                customer_id=request.customer_id,
                won=won is not None,
                body=draw_body(
                    draw_id=draw_id,
                    day=day,
                    created_at=request.now,
                    coupon_type=won[0] if won else None,
                    voucher=won[3] if won else None,
                ),
                coupon_type=won[0] if won else None,
                coupon=won[2] if won else None,
                phone=phone,
                message_id=message_ids.get(phone) if won else None,
            )
        )
    return answers


async def _coupons_insert(
    cur: AsyncCursor,
    requests: list[DrawRequest],
    inserted: dict[int, tuple],
    coupons: dict[int, tuple[CouponType, str, Coupon, VoucherRow]],
) -> None:
    """The winners' coupons, as ``voucher_issue`` makes them, and their draws
    marked won with them."""
    rows, codes, draws = [], [], []
    for i, (coupon_type, _, coupon, voucher) in coupons.items():
        request = requests[i]
        rows.append(
            {
                "code": coupon.code,
                "status": voucher.status,
                "campaign": coupon_type.campaign_id,
                "coupon_type": coupon_type.pk,
                "owner": request.customer_id,
                "email": voucher.email,
                "issued_at": request.now,
                "expires_at": coupon.expires_at,
                "created_at": request.now,
                **coupon_type.benefit_fields(),
            }
        )
        codes.append(coupon.code)
        draws.append(inserted[request.customer_id][0])
    fields = insert_fields(Voucher)
    await cur.execute(
        _draw_sql()["coupons_insert"],
        [*insert_params(Voucher, fields, rows), codes, draws],
    )
    if cur.rowcount != len(rows):  # every coupon is a new row, every draw ours
        raise RuntimeError(f"{cur.rowcount} of {len(rows)} draws marked won")
