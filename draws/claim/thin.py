"""Claim and hold's thin path: claims answered on the event loop (issue 18).

``POST /api/v1/campaigns/<slug>/claims`` comes here first
(``couponsite.server.thin``). After the token and rate limits ("claim"), in
``claim_take``'s order, with the answers ``draws.claim.api.ClaimApi`` gives,
byte for byte:

- ``NOT_IN_ACTIVE_TIME`` when the campaign is not running (``open_today``,
  decided in Python; the gate alone then checks the token and rate limits);
- ``429 ALREADY_CLAIMED_TODAY``, ``Retry-After`` to the campaign's local
  midnight, when the customer's "claimed today" mark (``draws.daily_marks``)
  is in Redis: the mark is only written once the database holds the day's
  claim, so this repeats an answer the database already gave;
- when the pool's sold-out flag holds (the gate reads it in the same script,
  with ``_PoolState``'s rule: it names the pool's current generation, and its
  deadline is ahead of the route's clock), the database is asked whether the
  customer claimed today, as ``claim_take`` asks it before any ``SOLD_OUT``:
  through the group committer (``draws.claim.group_commit``: one ``SELECT``
  for all the customers of a campaign and day queued together). Found:
  ``429 ALREADY_CLAIMED_TODAY`` (and the mark is written again); not found:
  ``409 SOLD_OUT``;
- otherwise a first claim (no mark, no flag that holds): committed by the
  group committer (``draws.claim.group_commit``: the once-a-day constraint,
  a free coupon locked with ``SKIP LOCKED`` and held by a conditional update,
  the history, in one transaction with the batch's other first claims),
  answered ``201`` after its ``COMMIT`` with ``ClaimSerializer``'s bytes (or
  ``429`` when the database holds the day's claim); then the mark is
  written, as ``claim_take`` writes it after commit.

Everything else goes to Django: a first claim no free coupon was found for
(Django picks again, answers ``SOLD_OUT`` and sets the flag), a campaign this
process does not hold, a draft, another kind, marks the script cannot read, a
group commit that failed or a question the committer could not answer
(Django decides again from what is committed).
"""

import datetime as dt

from campaigns.models import Campaign
from couponsite.group_commit import GroupCommitFailed, GroupCommitter, loop_committer
from couponsite.server import thin
from couponsite.server.router import RATE_COUNTED, Receive, Route, Scope, Send
from customers.services.blocking import CustomerBlocked
from draws.claim.group_commit import claim_submit, claimed_today
from draws.claim.services import AlreadyClaimedToday, SoldOut, sold_out_flag_keys
from draws.opening import Today
from draws.thin import ThinStart, once_a_day_start, remember_done_today_on_loop
from webhooks.events import EventType
from webhooks.subscriptions import thin_may_take

# The gate's body: keys[1] the pool's generation, keys[2] its sold-out flag
# (``sold_out_flag_keys``); args[1] the "claimed today" mark's key less the
# customer's id (``done_today_key_prefix``), args[2] the route's clock (seconds
# since the epoch; '' to leave the claim to Django). The mark answers ``DONE``;
# else a flag "<deadline>@<generation>" of the current generation (none yet:
# '0') whose deadline is ahead answers ``SOLDOUT``, as ``_PoolState.sold_out``
# decides it; any other (no flag, a past generation's, a lapsed one) ``FIRST``.
CLAIM_BODY = """
local function body(customer, keys, args)
  if redis.call('GET', args[1] .. customer) == '1' then
    return {'DONE'}
  end
  if args[2] == '' then
    return {'PASS', 'not claimed today'}
  end
  local flag = redis.call('GET', keys[2])
  if not flag then
    return {'FIRST'}
  end
  local at = string.find(flag, '@', 1, true)
  local generation = redis.call('GET', keys[1]) or '0'
  if not at or string.sub(flag, at + 1) ~= generation then
    return {'FIRST'}
  end
  local deadline = tonumber(string.sub(flag, 1, at - 1))
  if not deadline or deadline <= tonumber(args[2]) then
    return {'FIRST'}
  end
  return {'SOLDOUT'}
end
"""

CLAIM_GATE = thin.Gate.of(CLAIM_BODY)


async def claims(scope: Scope, receive: Receive, send: Send) -> bool:
    """A claim refused here (a repeat, sold out); else Django's."""
    begun = await once_a_day_start(
        scope, send, kind=Campaign.Kind.CLAIM, action="claimed", scope_name="claim"
    )
    if isinstance(begun, bool):
        return begun
    start, today, mark, now = begun.start, begun.today, begun.mark, begun.now
    campaign, redis = start.campaign, start.redis
    # A first claim may take a lapsed hold: while a webhook endpoint subscribes
    # to ``claim.lapsed`` (or this process does not know yet), Django claims.
    committer = loop_committer() if thin_may_take(EventType.CLAIM_LAPSED) else None
    reply = await CLAIM_GATE.decide(
        send,
        redis,
        request=start.request,
        scope_name="claim",
        keys=sold_out_flag_keys(campaign.pk),
        args=[mark, "" if committer is None else repr(now.timestamp())],
    )
    if isinstance(reply, bool):
        return reply
    repeat = AlreadyClaimedToday(retry_after=today.seconds_left)
    if reply[0] == "DONE":
        await thin.refuse(send, repeat, language=reply.language)
        return True
    customer_id = int(reply[1])
    if reply[0] == "FIRST":
        answered = await _first_claim(
            send,
            start,
            committer,
            today,
            mark=mark,
            customer_id=customer_id,
            now=now,
            language=reply.language,
        )
        if not answered:  # Django decides; the gate counted its hit already
            scope[RATE_COUNTED] = "claim"
        return answered
    # SOLDOUT: only once the database said the customer has no claim today.
    try:
        claimed = await claimed_today(
            committer, campaign_id=campaign.pk, day=today.day, customer_id=customer_id
        )
    except GroupCommitFailed:
        scope[RATE_COUNTED] = "claim"  # Django decides; the gate counted its hit
        return False
    if not claimed:
        await thin.refuse(send, SoldOut(), language=reply.language)
        return True
    await thin.refuse(send, repeat, language=reply.language)
    await remember_done_today_on_loop(
        redis, campaign=campaign, mark=mark, customer_id=customer_id, now=now
    )
    return True


async def _first_claim(
    send: Send,
    start: ThinStart,
    committer: GroupCommitter,
    today: Today,
    *,
    mark: str,
    customer_id: int,
    now: dt.datetime,
    language: str,
) -> bool:
    """A first claim committed in a group, answered ``201`` after its ``COMMIT``
    (or ``429`` when the constraint found the day's claim) in ``language``, then
    the mark written; not decided there (no coupon free for it, a failure): Django's."""
    campaign, redis = start.campaign, start.redis
    try:
        claimed = await claim_submit(
            committer,
            campaign_id=campaign.pk,
            day=today.day,
            customer_id=customer_id,
            retry_after=today.seconds_left,
            now=now,
        )
    except GroupCommitFailed:
        return False
    except CustomerBlocked as refusal:
        await thin.refuse(send, refusal, language=language)
        return True
    except AlreadyClaimedToday as repeat:
        await thin.refuse(send, repeat, language=language)
    else:
        await thin.created(send, claimed.body, language=language)
    await remember_done_today_on_loop(
        redis, campaign=campaign, mark=mark, customer_id=customer_id, now=now
    )
    return True


ROUTES = [
    Route.of(
        "POST",
        r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/claims",
        claims,
        label="api/v1/campaigns/<slug:slug>/claims",
    ),
]
