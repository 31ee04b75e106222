"""Customers' redemptions committed in groups (``couponsite.group_commit``),
for the thin path (``vouchers.thin``).

``voucher_redeem``'s rules for a batch of customers redeeming their own
vouchers: one group (one transaction) for them all (``writes.redemptions_write``).
A redeemed voucher's request gets its ``200`` body, byte for byte what
``VoucherRedeemApi`` renders, without a model or a serializer; a request whose
voucher was not redeemed gets None: the route sends it to Django, which says
why. ``bodies`` has what every group writer's body shares (a coupon).
"""

import datetime as dt

from couponsite import metrics
from couponsite.group_commit import GroupCommitter, Writer, utc
from vouchers.group_commit.writes import (
    RedeemRequest,
    redemption_body,
    redemptions_write,
)


def _redemptions(conn, group, requests):
    return redemptions_write(conn, requests=requests)


def _count(answers) -> None:
    metrics.REDEMPTIONS.inc(sum(isinstance(answer, bytes) for answer in answers))


REDEEM = Writer(
    kind="redeem",
    group=lambda request: None,
    write=_redemptions,
    committed=_count,
    # A code twice in a batch: the second waits for the next one (then it finds
    # the voucher redeemed, and Django tells it so).
    once_per_batch=lambda request: request.code,
)


async def redeem_submit(
    committer: GroupCommitter,
    *,
    code: str,
    customer_id: int,
    order_ref: str = "",
    now: dt.datetime | None = None,
) -> bytes | None:
    """Redeem the voucher ``code`` (canonical) for its owner ``customer_id`` at
    ``now``, in a group of ``committer``'s: its ``200`` body once committed,
    or None (not redeemed here: Django decides). Raises ``GroupCommitFailed``."""
    request = RedeemRequest(
        code=code, customer_id=customer_id, order_ref=order_ref, now=utc(now)
    )
    return await committer.submit(REDEEM, request)


__all__ = [
    "REDEEM",
    "RedeemRequest",
    "redeem_submit",
    "redemption_body",
    "redemptions_write",
]
