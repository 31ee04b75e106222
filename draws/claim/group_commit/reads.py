"""A sold-out claim's question, asked in groups (``couponsite.group_commit``).

``claim_take`` gives ``SOLD_OUT`` only after the database said the customer
has no claim today (``_sold_out_unless_claimed``: one indexed ``EXISTS``).
When the thin route (``draws.claim.thin``) finds the pool's sold-out flag
holding, it asks the same question through the group committer: for all the
customers of a campaign and day queued together, one ``SELECT`` of their
claims of that day, and no writes.
"""

import datetime as dt
import functools
from dataclasses import dataclass

from django.db import connection

from couponsite.group_commit import GroupCommitter, Writer
from couponsite.group_commit.sql import Table
from draws.claim.models import Claim


@dataclass(frozen=True, slots=True)
class ClaimedTodayQuestion:
    campaign_id: int
    day: dt.date
    customer_id: int


@functools.cache
def _claimed_sql() -> str:
    claims = Table(Claim, "c")
    customer_type = Claim._meta.get_field("customer").db_type(connection)
    return (
        f"SELECT {claims.customer} FROM {claims}"
        f" WHERE {claims.campaign} = %s AND {claims.day} = %s"
        f" AND {claims.customer} = ANY(%s::{customer_type}[])"
    )


async def claimed_today_read(
    conn, *, campaign_id: int, day: dt.date, questions: list[ClaimedTodayQuestion]
) -> list[bool]:
    """Whether each customer holds a claim of ``day`` in ``campaign_id``; one query."""
    customer_ids = sorted({question.customer_id for question in questions})
    cur = await conn.execute(_claimed_sql(), [campaign_id, day, customer_ids])
    claimed = {customer_id for (customer_id,) in await cur.fetchall()}
    return [question.customer_id in claimed for question in questions]


def _read(conn, group, questions):
    campaign_id, day = group
    return claimed_today_read(
        conn, campaign_id=campaign_id, day=day, questions=questions
    )


CLAIMED_TODAY = Writer(
    kind="claimed today",
    group=lambda question: (question.campaign_id, question.day),
    write=_read,
)


async def claimed_today(
    committer: GroupCommitter, *, campaign_id: int, day: dt.date, customer_id: int
) -> bool:
    """Whether ``customer_id`` claimed on ``day`` in ``campaign_id``, as the
    database says it, asked in a group of ``committer``'s (the answer comes
    after the group's transaction ended).

    Raises ``GroupCommitFailed``: not known here, Django asks again.
    """
    return await committer.submit(
        CLAIMED_TODAY,
        ClaimedTodayQuestion(campaign_id=campaign_id, day=day, customer_id=customer_id),
    )
