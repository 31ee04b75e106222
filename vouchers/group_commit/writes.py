"""A batch of customers' redemptions, in the caller's transaction.

``voucher_redeem``'s rules for a customer redeeming their own voucher, with one
statement where it takes two per request; see ``redemptions_write``.
"""

import datetime as dt
import functools
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from psycopg import AsyncConnection

from campaigns.models import Campaign, CouponType
from couponsite.group_commit.sql import Table, column, insert_fields, quote
from vouchers.group_commit.bodies import (
    VOUCHER_ROW_FIELDS,
    VoucherRow,
    render,
    voucher_data,
)
from vouchers.models import Offer, Voucher, VoucherEvent


@dataclass(frozen=True, slots=True)
class RedeemRequest:
    code: str  # canonical (``normalize_code``), well formed
    customer_id: int
    order_ref: str
    now: dt.datetime


# What ``voucher_redeem`` writes in a customer's redemption event, by field;
# ``done`` is the updated voucher, ``r`` its request. A field of the model not
# named here fails loudly (the SQL would miss a column the model has).
_EVENT_VALUES = {
    "voucher": "done.id",
    "kind": f"'{VoucherEvent.Kind.REDEEMED.value}'",
    "campaign": "done.campaign",
    "customer": "done.owner",
    "actor": "NULL",  # a customer redeems: no staff actor
    "reason": "''",
    # {"order_ref": …} when the checkout gave one, else {}
    "data": (
        "CASE WHEN done.order_ref = '' THEN '{}'::jsonb "
        "ELSE jsonb_build_object('order_ref', done.order_ref) END"
    ),
    "created_at": "done.used_at",
}


@functools.cache
def _redeem_sql() -> str:
    v, w = Table(Voucher, "v"), Table(Voucher, "w")
    t, c, o = Table(CouponType, "t"), Table(Campaign, "c"), Table(Offer, "o")
    status = Voucher.Status

    def usable(x: Table) -> str:
        """``Voucher.objects.usable(r.now)``, owned by ``r.owner``: the scope of
        ``voucher_for_use`` and the pin to the holder of ``voucher_redeem``."""
        return (
            f"{x.owner} = r.owner "
            f"AND ({x.expires_at} IS NULL OR {x.expires_at} > r.now) "
            f"AND ({x.status} = '{status.ISSUED.value}' "
            f"OR ({x.status} = '{status.HELD.value}' AND {x.held_until} > r.now))"
        )

    def no_rules(x: Table) -> str:
        """A voucher without redemption rules: one with rules (an order to
        check, a per-customer limit to count under its lock) is Django's."""
        return (
            f"{x.min_order_amount} IS NULL AND {x.max_discount} IS NULL "
            f"AND {x.categories} = '' AND {x.per_customer_limit} IS NULL"
        )

    def set_(field: str) -> str:  # SET names the target's columns unqualified
        return column(Voucher, field)

    def type_of(model, field: str) -> str:
        return model._meta.get_field(field).db_type(connection)

    event_fields = insert_fields(VoucherEvent)
    missing = set(event_fields) - set(_EVENT_VALUES)
    if missing:
        raise RuntimeError(f"redemption events: no value for {sorted(missing)}")
    returned = ", ".join(
        f"{getattr(v, name)} AS {name}"
        for name in (
            "id",
            "campaign",
            "owner",
            "coupon_type",
            "offer",
            *VOUCHER_ROW_FIELDS,
        )
    )
    return (
        # The requests; then their vouchers still usable, locked in id order
        # (two committers' batches never wait for each other in a cycle).
        "WITH r AS (SELECT * FROM unnest("
        f"%b::{type_of(Voucher, 'code')}[], %b::bigint[], "
        f"%b::{type_of(Voucher, 'order_ref')}[], %b::timestamptz[]"
        ") AS r(code, owner, order_ref, now)), "
        f"locked AS (SELECT {w.id} AS id, r.* FROM {w} "
        f"JOIN r ON {w.code} = r.code WHERE {usable(w)} "
        f"ORDER BY {w.id} FOR NO KEY UPDATE OF w), "
        # The conditional UPDATE of voucher_redeem (its conditions again: the
        # rows as they are now that they are locked), of vouchers without rules
        # only. The rules are tested here, on rows found by id, not in
        # ``locked``: there they led the planner away from the code's index
        # and tripled Postgres's CPU per redemption (docs/performance.md). A
        # voucher's rules never change after issue, so a locked voucher with
        # rules is simply left, unchanged, for Django.
        f"done AS (UPDATE {v} SET {set_('status')} = '{status.REDEEMED.value}', "
        f"{set_('used_at')} = r.now, {set_('redeemed_by')} = NULL, "
        f"{set_('order_ref')} = r.order_ref "
        f"FROM locked AS r WHERE {v.id} = r.id AND {usable(v)} AND {no_rules(v)} "
        f"RETURNING {returned}), "
        # Their history rows, as voucher_redeem writes them.
        f"events AS (INSERT INTO {quote(VoucherEvent._meta.db_table)} ("
        + ", ".join(column(VoucherEvent, name) for name in event_fields)
        + ") SELECT "
        + ", ".join(_EVENT_VALUES[name] for name in event_fields)
        + " FROM done) "
        # The answers' rows, with the names VoucherSerializer shows.
        "SELECT done.owner, "
        + ", ".join(f"done.{name}" for name in VOUCHER_ROW_FIELDS)
        + f", {t.name}, {c.slug}, {o.name} FROM done "
        f"LEFT JOIN {t} ON {t.id} = done.coupon_type "
        f"LEFT JOIN {c} ON {c.id} = done.campaign "
        f"LEFT JOIN {o} ON {o.id} = done.offer"
    )


def redemption_body(voucher: VoucherRow, *, now: dt.datetime | None = None) -> bytes:
    """``VoucherCheckResultSerializer(vouchers.api._result(voucher)).data``,
    rendered; the voucher's status as of ``now``."""
    data = voucher_data(
        voucher, now=now or timezone.now(), zone=timezone.get_current_timezone()
    )
    return render(
        {
            "valid": True,
            "discount": data["benefit"]["percent"],
            "benefit": data["benefit"],
            "used_at": data["used_at"],
            "voucher": data,
            # Without an order (the only redemptions taken here), as
            # ``vouchers.api._result`` answers them.
            "discount_amount": None,
            "currency": None,
            "free_item": None,
        }
    )


async def redemptions_write(
    conn: AsyncConnection, *, requests: list[RedeemRequest]
) -> list[bytes | None]:
    """Redeem each request's voucher for its customer (caller's transaction).

    ``voucher_redeem``'s rules, for a customer redeeming their own voucher,
    in one statement for the batch: the vouchers with the requests' codes that
    their customers own and that are usable at each request's time (issued, or
    held with the hold running; unexpired), locked in id order, then one
    conditional ``UPDATE`` (redeemed, used now, no staff redeemer, the order's
    reference) and one ``INSERT`` of their history rows. A code appears once
    in a batch (``REDEEM``'s ``once_per_batch``).

    The answers are in the order of ``requests``: the ``200`` body of each
    voucher redeemed, None for a request whose voucher was not (unknown,
    someone else's, already used, expired, void, a lapsed hold): this does not
    say why, Django does (from what is committed) and counts the failure.
    """
    cur = conn.cursor()
    await cur.execute(
        _redeem_sql(),
        [
            [request.code for request in requests],
            [request.customer_id for request in requests],
            [request.order_ref for request in requests],
            [request.now for request in requests],
        ],
    )
    redeemed: dict[tuple[str, int], VoucherRow] = {}
    for owner, *fields, type_name, slug, offer_name in await cur.fetchall():
        row = VoucherRow(*fields, type_name, slug, offer_name)
        redeemed[row.code, owner] = row
    answers: list[bytes | None] = []
    for request in requests:
        row = redeemed.get((request.code, request.customer_id))
        answers.append(None if row is None else redemption_body(row))
    return answers
