"""Staff block a customer from taking part, and unblock them.

A blocked customer may still sign in, read their account and vouchers, and
redeem a voucher they already hold at checkout (the shop sold them something;
the coupon was given before the block). They may not take part: every draw,
claim, reservation and grab is refused with ``CUSTOMER_BLOCKED`` (403).

The guarantee, on every path: a block committed before the request's write
transaction begins is honoured.

- Django: each mode's service checks the customer it was handed (fresh from
  the token lookup, whose cache the block marks stale) first, so a blocked
  customer hears ``CUSTOMER_BLOCKED`` before any other answer, and checks the
  row again inside its write transaction (``customer_blocked_check``), which
  sees every block committed before that statement.
- The thin path only answers tokens with a thin entry in Redis. Entries are
  never written for a blocked customer (``customers.authentication``), and a
  block marks the customer's entries stale after it commits, so their requests
  go to Django. If Redis cannot be reached at that moment an old entry may live
  on (at most ``TOKEN_THIN_SECONDS``); the group-commit writers therefore read
  the batch's customers' blocks again in the batch's transaction and refuse
  the blocked ones there.
"""

import datetime as dt
import functools
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from couponsite.audit import audit_record
from couponsite.errors import DomainError
from customers.authentication import forget_tokens_of
from customers.models import Customer
from customers.services.erasure import CustomerAlreadyErased


class CustomerBlocked(DomainError):
    code = "CUSTOMER_BLOCKED"
    detail = _(
        "This account may not take part in campaigns; contact the shop's support."
    )


class BlockUnchanged(DomainError):
    code = "STATUS_UNCHANGED"
    detail = _("The customer is already in that state.")


def customer_block(
    *, customer: Customer, acting_user, reason: str, now: dt.datetime | None = None
) -> Customer:
    """Block ``customer`` from taking part, recording who and why (audited).

    The row is locked while it changes; blocking a blocked customer is
    refused (``STATUS_UNCHANGED``), and an erased one (``CUSTOMER_ERASED``). After commit, the customer's cached token
    entries are marked stale, so no cache answers for them as unblocked.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_unerased(customer)
        if locked.blocked_at is not None:
            raise BlockUnchanged(_("The customer is already blocked."))
        locked.blocked_at, locked.blocked_reason = now, reason
        locked.blocked_by = acting_user
        locked.save(update_fields=["blocked_at", "blocked_reason", "blocked_by"])
        audit_record(
            acting_user=acting_user,
            action="customer.blocked",
            target=locked,
            reason=reason,
            changes={"blocked_at": [None, now.isoformat()]},
        )
        forget_tokens_of(customer_id=locked.pk)
    _copy_block(locked, customer)
    return customer


def customer_unblock(*, customer: Customer, acting_user, reason: str) -> Customer:
    """Let a blocked customer take part again, recording who and why (audited);
    ``STATUS_UNCHANGED`` if they are not blocked, ``CUSTOMER_ERASED`` if erased."""
    with transaction.atomic():
        locked = _locked_unerased(customer)
        if locked.blocked_at is None:
            raise BlockUnchanged(_("The customer is not blocked."))
        was = locked.blocked_at
        locked.blocked_at, locked.blocked_reason, locked.blocked_by = None, "", None
        locked.save(update_fields=["blocked_at", "blocked_reason", "blocked_by"])
        audit_record(
            acting_user=acting_user,
            action="customer.unblocked",
            target=locked,
            reason=reason,
            changes={"blocked_at": [was.isoformat(), None]},
        )
        forget_tokens_of(customer_id=locked.pk)
    _copy_block(locked, customer)
    return customer


def _locked_unerased(customer: Customer) -> Customer:
    """The customer's row, locked; ``CUSTOMER_ERASED`` if it was erased (an
    erased customer's row is kept for the counts, and nothing on it changes)."""
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.erased_at is not None:
        raise CustomerAlreadyErased()
    return locked


def _copy_block(source: Customer, target: Customer) -> None:
    target.blocked_at = source.blocked_at
    target.blocked_reason = source.blocked_reason
    target.blocked_by_id = source.blocked_by_id


def customer_may_take_part(customer: Customer) -> None:
    """``CUSTOMER_BLOCKED`` if the customer as loaded is blocked (no query)."""
    if customer.blocked_at is not None:
        raise CustomerBlocked()


_BLOCKED_SQL = "SELECT 1 FROM {table} WHERE id = %s AND blocked_at IS NOT NULL"


def customer_blocked_check(customer_id: int) -> None:
    """``CUSTOMER_BLOCKED`` if the customer's row says blocked now: call it in
    the write's transaction, which then honours every block committed before."""
    sql = _BLOCKED_SQL.format(table=connection.ops.quote_name(Customer._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [customer_id])
        if cursor.fetchone() is not None:
            raise CustomerBlocked()


async def blocked_among(cur, customer_ids) -> set[int]:
    """Which of ``customer_ids`` are blocked now, read with the group-commit
    writers' async cursor ``cur`` in the batch's transaction."""
    ids = sorted(set(customer_ids))
    if not ids:
        return set()
    table = connection.ops.quote_name(Customer._meta.db_table)
    await cur.execute(
        f"SELECT id FROM {table} WHERE id = ANY(%s) AND blocked_at IS NOT NULL",
        [ids],
    )
    return {row[0] for row in await cur.fetchall()}


def blocked_refused(blocked_answer: Callable[[object], object]):
    """Wrap a group-commit writer ``write(conn, *, requests, **kwargs)`` (each
    request with a ``customer_id``, the answers in the order of ``requests``):
    the batch's blocked customers are read first, in the batch's transaction,
    answered ``blocked_answer(request)`` and left out of the write.

    The thin path does not take a blocked customer's request (no thin entry),
    unless an entry outlived a block because Redis could not be reached when
    it was marked stale; this read makes the writers honour the block then too.
    """

    def wrap(write):
        @functools.wraps(write)
        async def writer(conn, *, requests, **kwargs):
            blocked = await blocked_among(
                conn.cursor(), [request.customer_id for request in requests]
            )
            if not blocked:
                return await write(conn, requests=requests, **kwargs)
            allowed = [r for r in requests if r.customer_id not in blocked]
            answers = iter(
                await write(conn, requests=allowed, **kwargs) if allowed else []
            )
            return [
                blocked_answer(request)
                if request.customer_id in blocked
                else next(answers)
                for request in requests
            ]

        return writer

    return wrap
