"""The lucky draw's thin path: draws answered on the event loop (issue 18).

``POST /api/v1/campaigns/<slug>/draws`` comes here first
(``couponsite.server.thin``). After the token and rate limits ("draw"), in
``draw_run``'s order, with the answers ``draws.draw.api.DrawApi`` gives, byte
for byte:

- ``NOT_IN_ACTIVE_TIME`` when the campaign is not running (``open_today``,
  decided in Python; the gate alone then checks the token and rate limits);
- ``429 ALREADY_DRAWN_TODAY``, ``Retry-After`` to the campaign's local
  midnight, when the customer's "drew today" mark (``draws.daily_marks``) is in
  Redis: the mark is only written once the unique constraint holds the day's
  draw, so this repeats an answer the database already gave;
- a first draw (no mark): rolled here with the odds and the day's seed this
  process holds (``campaign_odds``, ``draws.draw.fairness``: the seed's HMAC
  of the draw's identity, as ``draw_run`` rolls; no query on the loop), committed by the group committer
  (``draws.draw.group_commit``: the unique constraint, the quotas'
  conditional update, the coupon and a winner's text (a pending message) in
  one transaction with the batch's other draws), answered ``201`` after its
  ``COMMIT``; then the mark is written and the text's send task enqueued (from
  a thread: ``messaging.group_commit``), as ``draw_run`` queues it. A repeat the
  constraint found is answered ``429`` as above.

Everything else goes to Django: a campaign (or odds, or the day's seed) this
process does not hold, a draft, another kind, marks the script cannot read, a group commit that
failed (Django decides again from what is committed), and a first draw while
a webhook endpoint subscribes to ``draw.won`` or ``voucher.issued`` (Django
emits them in the draw's transaction).
"""

from campaigns.caching import odds_cache_key
from campaigns.models import Campaign
from campaigns.selectors import campaign_odds
from couponsite.group_commit import GroupCommitFailed, loop_committer
from couponsite.localcache import MISSING
from couponsite.server import thin
from couponsite.server.router import RATE_COUNTED, Receive, Route, Scope, Send
from customers.services.blocking import CustomerBlocked
from draws.draw.fairness import roll_from_seed, seed_cache_key, seed_load
from draws.draw.group_commit import draw_submit
from draws.draw.services import AlreadyDrawnToday, pick_coupon_type
from draws.thin import (
    DONE_TODAY,
    held,
    once_a_day_start,
    remember_done_today_on_loop,
)
from messaging.group_commit import messages_enqueue_soon
from webhooks.events import EventType
from webhooks.subscriptions import thin_may_take


def held_odds(campaign: Campaign) -> list[tuple[int, float]] | None:
    """The campaign's odds as this process holds them (``draws.thin.held``),
    or None: Django draws (and reads them)."""
    odds = held(
        odds_cache_key(campaign.pk), lambda: campaign_odds(campaign, reload=True)
    )
    return None if odds is MISSING else odds


def held_seed(campaign_id: int, day) -> bytes | None:
    """The day's seed as this process holds it, or None: Django draws (and
    makes or reads it; from then on this process holds it)."""
    seed = held(seed_cache_key(campaign_id, day), lambda: seed_load(campaign_id, day))
    return None if seed is MISSING else seed


async def draws(scope: Scope, receive: Receive, send: Send) -> bool:
    """A draw: refused, or a first draw committed in a group, here; else Django's."""
    begun = await once_a_day_start(
        scope, send, kind=Campaign.Kind.DRAW, action="drew", scope_name="draw"
    )
    if isinstance(begun, bool):
        return begun
    start, today, mark, now = begun.start, begun.today, begun.mark, begun.now
    campaign, redis = start.campaign, start.redis
    odds = held_odds(campaign)
    seed = held_seed(campaign.pk, today.day)
    # A first draw may win: while a webhook endpoint subscribes to what a win
    # tells (or this process does not know yet), Django draws and emits it.
    first_here = (
        odds is not None
        and seed is not None
        and thin_may_take(EventType.DRAW_WON, EventType.VOUCHER_ISSUED)
    )
    committer = loop_committer() if first_here else None
    reply = await DONE_TODAY.decide(
        send,
        redis,
        request=start.request,
        scope_name="draw",
        args=[mark, "" if committer is None else "first"],
    )
    if isinstance(reply, bool):
        return reply
    refusal = AlreadyDrawnToday(retry_after=today.seconds_left)
    if reply[0] == "DONE":
        await thin.refuse(send, refusal, language=reply.language)
        return True
    customer_id = int(reply[1])
    roll = roll_from_seed(
        seed, campaign_id=campaign.pk, day=today.day, customer_id=customer_id
    )
    try:
        drawn = await draw_submit(
            committer,
            campaign_id=campaign.pk,
            day=today.day,
            customer_id=customer_id,
            roll=roll,
            coupon_type_id=pick_coupon_type(odds, roll),
            odds=odds,
            retry_after=today.seconds_left,
            now=now,
            from_seed=True,
            language=reply.language,
        )
    except GroupCommitFailed:
        scope[RATE_COUNTED] = "draw"  # Django decides; the gate counted its hit
        return False
    except CustomerBlocked as refusal:
        await thin.refuse(send, refusal, language=reply.language)
        return True
    except AlreadyDrawnToday as repeat:
        await thin.refuse(send, repeat, language=reply.language)
        await remember_done_today_on_loop(
            redis, campaign=campaign, mark=mark, customer_id=customer_id, now=now
        )
        return True
    await thin.created(send, drawn.body, language=reply.language)
    await remember_done_today_on_loop(
        redis, campaign=campaign, mark=mark, customer_id=customer_id, now=now
    )
    if drawn.message_id is not None:
        # The text was written with the draw; the worker sends it.
        messages_enqueue_soon([drawn.message_id])
    return True


ROUTES = [
    Route.of(
        "POST",
        r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/draws",
        draws,
        label="api/v1/campaigns/<slug:slug>/draws",
    ),
]
