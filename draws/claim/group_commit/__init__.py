"""Claims in groups (``couponsite.group_commit``), for the thin path.

Two writers for the claim's thin route (``draws.claim.thin``), one group (one
transaction) per campaign and day each:

- ``CLAIMS``: ``claim_take``'s rules for a batch of first claims
  (``writes.claims_write``); each claim gets its own ``201`` body, byte for
  byte what ``ClaimSerializer`` renders, without a model or a serializer
  (``bodies.claim_body``);
- ``CLAIMED_TODAY``: a sold-out claim's question, "did the customer claim
  today?", one ``SELECT`` and no writes (``reads``).
"""

import datetime as dt

from couponsite import metrics
from couponsite.group_commit import GroupCommitFailed, GroupCommitter, Writer, utc
from draws.claim.group_commit.bodies import claim_body
from draws.claim.group_commit.reads import CLAIMED_TODAY, claimed_today
from draws.claim.group_commit.writes import Claimed, ClaimRequest, claims_write


def _claims(conn, group, requests):
    campaign_id, day = group
    return claims_write(conn, campaign_id=campaign_id, day=day, requests=requests)


def _count(answers) -> None:
    metrics.CLAIMS.inc(sum(isinstance(answer, Claimed) for answer in answers))


CLAIMS = Writer(
    kind="claim",
    group=lambda request: (request.campaign_id, request.day),
    write=_claims,
    committed=_count,
)


async def claim_submit(
    committer: GroupCommitter,
    *,
    campaign_id: int,
    day: dt.date,
    customer_id: int,
    retry_after: float,
    now: dt.datetime | None = None,
) -> Claimed:
    """Commit ``customer_id``'s first claim of ``day`` in ``campaign_id`` (the
    route checked the campaign runs at ``now``), in a group of ``committer``'s.

    Raises ``AlreadyClaimedToday`` (with ``retry_after``) or
    ``GroupCommitFailed`` (not decided here, e.g. no coupon was free for it:
    Django decides).
    """
    request = ClaimRequest(
        campaign_id=campaign_id,
        day=day,
        customer_id=customer_id,
        now=utc(now),
        retry_after=retry_after,
    )
    answer = await committer.submit(CLAIMS, request)
    if isinstance(answer, GroupCommitFailed):
        raise answer
    return answer


__all__ = [
    "CLAIMED_TODAY",
    "CLAIMS",
    "ClaimRequest",
    "Claimed",
    "claim_body",
    "claim_submit",
    "claimed_today",
    "claims_write",
]
