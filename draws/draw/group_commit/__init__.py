"""First draws committed in groups (``couponsite.group_commit``), for the thin path.

``draw_run``'s rules for a batch of first draws of one campaign and day,
whose rolls the thin route (``draws.draw.thin``) already made: one group (one
transaction) per campaign and day (``writes.draws_write``). Each request gets
its own ``201`` body, byte for byte what ``DrawSerializer`` renders, without a
model or a serializer (``bodies.draw_body``).
"""

import datetime as dt

from couponsite import metrics
from couponsite.group_commit import GroupCommitter, Writer, utc
from draws.draw.group_commit.writes import Coupon, Drawn, DrawRequest, draws_write


def _draws(conn, group, requests):
    campaign_id, day = group
    return draws_write(conn, campaign_id=campaign_id, day=day, requests=requests)


def _count(answers) -> None:
    for answer in answers:
        if isinstance(answer, Drawn):
            (metrics.DRAWS_WON if answer.won else metrics.DRAWS_LOST).inc()


DRAWS = Writer(
    kind="draw",
    group=lambda request: (request.campaign_id, request.day),
    write=_draws,
    committed=_count,
)


async def draw_submit(
    committer: GroupCommitter,
    *,
    campaign_id: int,
    day: dt.date,
    customer_id: int,
    roll: float,
    coupon_type_id: int | None,
    odds: list,
    retry_after: float,
    now: dt.datetime | None = None,
    from_seed: bool = False,
    language: str = "en",
) -> Drawn:
    """Commit ``customer_id``'s first draw of ``day`` in ``campaign_id`` (the
    route checked the campaign runs at ``now`` and rolled ``roll``, which
    picked ``coupon_type_id`` from ``odds``; ``from_seed``: the day's seed's
    HMAC of the draw's identity), in a group of ``committer``'s; a winner's
    text is written in ``language`` (``draw_run``'s ``message_language``).

    Raises ``AlreadyDrawnToday`` (with ``retry_after``) or ``GroupCommitFailed``.
    """
    request = DrawRequest(
        campaign_id=campaign_id,
        day=day,
        customer_id=customer_id,
        now=utc(now),
        roll=roll,
        coupon_type_id=coupon_type_id,
        odds=odds,
        retry_after=retry_after,
        from_seed=from_seed,
        language=language,
    )
    return await committer.submit(DRAWS, request)


__all__ = ["DRAWS", "Coupon", "DrawRequest", "Drawn", "draw_submit", "draws_write"]
