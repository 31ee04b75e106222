"""The rush's thin path: the flash sale answered on the event loop (issue 18).

``POST …/grabs`` and ``POST …/reservations`` come here first
(``couponsite.server.thin``). Within one Redis round trip the gate checks the
token and the rate limits, then, for a grab, runs ``grab.lua`` itself (the
rush's rules in their order: reservation, already received, sold out, then
the pop of a coupon). Refusals are answered here, byte for byte what
``draws.rush.api`` answers. A coupon Redis gave, and a reservation inside its
window, are written by the group committer (``couponsite.group_commit``, with
the rush's writers): many requests share one transaction, and each is
answered only after its ``COMMIT`` returned, with its own row.

The window comes first, as in ``rush_grab`` and ``rush_reserve``: outside it
the answer is ``NOT_IN_ACTIVE_TIME`` after the token and rate limits alone.
Whatever this path cannot finish goes to Django, which decides it again from
what is committed: a day not loaded into Redis yet, a sold-out with coupons
in flight, a coupon Postgres had given away, a group commit that failed.
"""

import datetime as dt
import functools
import logging
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from campaigns.schedule import RushCycle
from couponsite import metrics
from couponsite.errors import DomainError
from couponsite.group_commit import GroupCommitFailed, loop_committer
from couponsite.server import thin
from couponsite.server.router import RATE_COUNTED, Receive, Route, Scope, Send
from customers.services.blocking import CustomerBlocked
from draws.opening import NotInActiveTime
from draws.rush.services.common import (
    STALE_PENDING_SECONDS,
    AlreadyReceived,
    NotReservation,
    SoldOut,
    local,
    rush_cycle_at,
)
from draws.rush.services.group_commit import (
    GrabOutcome,
    grab_submit,
    reservation_submit,
)
from draws.rush.services.redis_state import SETTLE_SCRIPT, RushKeys
from draws.thin import GATE_ONLY, thin_start
from webhooks.events import EventType
from webhooks.subscriptions import thin_may_take

logger = logging.getLogger(__name__)


def _grab_body() -> str:
    """``grab.lua`` itself as the gate's body: one source for the rush's rules.

    Its KEYS and ARGV become the body's keys, the customer and its args; its
    answers the thin path cannot finish go to Django: a day not loaded yet
    (``COLD``) and a sold-out with coupons in flight (Postgres must say whether
    one of them is this customer's).
    """
    source = (Path(__file__).parent / "lua" / "grab.lua").read_text()
    for old, new in (
        ("KEYS[", "k["),
        ("ARGV[1]", "customer"),
        ("ARGV[2]", "args[1]"),
        ("ARGV[3]", "args[2]"),
    ):
        source = source.replace(old, new)
    return f"""
local function grab(customer, k, args)
{source}
end
local function body(customer, k, args)
  local reply = grab(customer, k, args)
  if reply[1] == 'COLD' then
    return {{'PASS', 'cold'}}
  end
  if reply[1] == 'SOLD_OUT' and reply[2] == 1 then
    return {{'PASS', 'in flight'}}
  end
  return reply
end
"""


GRAB = thin.Gate.of(_grab_body(), on_cluster=True)
SETTLE_SHA = SETTLE_SCRIPT.sha.encode()

# The rush's own "not now" texts (as ``rush_grab`` and ``rush_reserve`` word
# them), made once: a refusal's body is rendered once per text and language.
RUSH_CLOSED = _("The rush is not on right now.")
RESERVATIONS_CLOSED = _("Reservations are not open right now.")

_REFUSALS = {
    "NOT_RESERVATION": NotReservation,
    "ALREADY_RECEIVED": AlreadyReceived,
    "SOLD_OUT": SoldOut,
}


async def grabs(scope: Scope, receive: Receive, send: Send) -> bool:
    """A grab: refused, or won and committed in a group, here; else Django's."""
    start = thin_start(scope, Campaign.Kind.RUSH)
    if start is None:
        return False
    campaign, redis = start.campaign, start.redis
    now = timezone.now()
    cycle = _cycle(campaign, now)
    open_now = campaign.is_running(now) and cycle is not None and cycle.in_rush(now)
    committer = loop_committer() if open_now else None
    if open_now and committer is None:
        return False
    if open_now and not thin_may_take(
        EventType.VOUCHER_ISSUED, EventType.RUSH_SOLD_OUT
    ):
        return False  # Django grabs, and emits the webhooks in the grab's transaction
    if open_now:
        reply = await GRAB.decide(
            send,
            redis,
            request=start.request,
            scope_name="grab",
            keys=_grab_keys(campaign.pk, cycle.day),
            args=[int(now.timestamp() * 1000), STALE_PENDING_SECONDS * 1000],
        )
    else:
        reply = await GATE_ONLY.decide(
            send, redis, request=start.request, scope_name="grab"
        )
    if isinstance(reply, bool):
        return reply
    outcome = reply[0]
    if outcome == "DECIDED":
        await thin.refuse(send, NotInActiveTime(RUSH_CLOSED), language=reply.language)
        return True
    customer_id = int(reply[1])
    if outcome == "OK":
        answered = await _commit_grab(
            send,
            redis,
            committer,
            campaign=campaign,
            day=cycle.day,
            customer_id=customer_id,
            voucher_id=int(reply[2]),
            reservation_id=int(reply[3]),
            now=now,
            language=reply.language,
        )
        if not answered:  # Django decides; the gate counted its hit already
            scope[RATE_COUNTED] = "grab"
        return answered
    if outcome == "ALREADY_RECEIVED" and reply[2] == 1:
        local.remember_received(campaign.pk, cycle.day, customer_id)
    elif outcome == "SOLD_OUT":
        metrics.GRABS_SOLD_OUT.inc()
    await thin.refuse(send, _REFUSALS[outcome](), language=reply.language)
    return True


async def _commit_grab(
    send: Send,
    redis,
    committer,
    *,
    campaign: Campaign,
    day: dt.date,
    customer_id: int,
    voucher_id: int,
    reservation_id: int,
    now: dt.datetime,
    language: str,
) -> bool:
    """Commit the coupon Redis gave (in a group), settle it in Redis, answer
    (in ``language``).

    As ``_grab_redis`` does: kept once committed; back in the stock when the
    write failed; gone (to whom Postgres says) when Postgres had given it away,
    and then Django tries again with another coupon.
    """
    keys = _settle_keys(campaign.pk, day)

    async def settle(outcome: str, holds: object = "", gone_to: object = "") -> None:
        try:
            await redis.evalsha(
                SETTLE_SHA,
                SETTLE_SCRIPT.script,
                keys,
                [customer_id, voucher_id, outcome, holds or "", gone_to or ""],
            )
        except thin.THIN_REDIS_ERRORS:
            # The ledger keeps the coupon; it is handed on once stale.
            logger.warning("rush: could not settle a coupon in Redis", exc_info=True)

    try:
        grabbed = await grab_submit(
            committer,
            campaign_id=campaign.pk,
            day=day,
            customer_id=customer_id,
            reservation_id=reservation_id,
            voucher_id=voucher_id,
            now=now,
        )
    except GroupCommitFailed as failed:
        if not failed.outcome_unknown:
            await settle("back")
        # (Unknown: the ledger keeps the coupon in flight; Django asks Postgres.)
        return False
    if grabbed.outcome == GrabOutcome.GRANTED:
        await settle("kept")
        local.remember_received(campaign.pk, day, customer_id)
        await thin.created(send, grabbed.body, language=language)
        return True
    if grabbed.outcome == GrabOutcome.BLOCKED:
        await settle("back")
        await thin.refuse(send, CustomerBlocked(), language=language)
        return True
    if grabbed.outcome == GrabOutcome.ALREADY_RECEIVED:
        await settle("back", holds=grabbed.holds_voucher_id)
        local.remember_received(campaign.pk, day, customer_id)
        await thin.refuse(send, AlreadyReceived(), language=language)
        return True
    await settle("gone", gone_to=grabbed.holder_id)
    return False  # Django takes the next coupon Redis offers


async def reservations(scope: Scope, receive: Receive, send: Send) -> bool:
    """A reservation, committed in a group here; refusals the window decides too."""
    start = thin_start(scope, Campaign.Kind.RUSH)
    if start is None:
        return False
    campaign = start.campaign
    now = timezone.now()
    cycle = _cycle(campaign, now)
    open_now = (
        campaign.is_running(now) and cycle is not None and cycle.in_reservation(now)
    )
    committer = loop_committer() if open_now else None
    if open_now and committer is None:
        return False
    if open_now and not thin_may_take(
        EventType.VOUCHER_ISSUED, EventType.RUSH_SOLD_OUT
    ):
        return False  # Django grabs, and emits the webhooks in the grab's transaction
    reply = await GATE_ONLY.decide(
        send, start.redis, request=start.request, scope_name="reserve"
    )
    if isinstance(reply, bool):
        return reply
    if not open_now:
        await thin.refuse(
            send, NotInActiveTime(RESERVATIONS_CLOSED), language=reply.language
        )
        return True
    try:
        reserved = await reservation_submit(
            committer,
            campaign_id=campaign.pk,
            day=cycle.day,
            customer_id=int(reply[1]),
            now=now,
        )
    except GroupCommitFailed:
        scope[RATE_COUNTED] = "reserve"  # Django decides; the gate counted its hit
        return False
    except DomainError as refusal:
        await thin.refuse(send, refusal, language=reply.language)
        return True
    await thin.created(send, reserved.body, language=reply.language)
    return True


# The cycle last computed for a campaign row (the row object: an edit is a new one).
_cycles: dict[int, tuple[Campaign, RushCycle | None]] = {}


def _cycle(campaign: Campaign, now: dt.datetime) -> RushCycle | None:
    """``rush_cycle_at``, reused while ``now`` stays inside it."""
    known = _cycles.get(campaign.pk)
    if (
        known is not None
        and known[0] is campaign
        and known[1] is not None
        and known[1].contains(now)
    ):
        return known[1]
    cycle = rush_cycle_at(campaign, now)
    _cycles[campaign.pk] = (campaign, cycle)
    return cycle


@functools.lru_cache(maxsize=64)
def _grab_keys(campaign_id: int, day: dt.date) -> list[str]:
    return RushKeys(campaign_id, day).grab()


@functools.lru_cache(maxsize=64)
def _settle_keys(campaign_id: int, day: dt.date) -> list[str]:
    return RushKeys(campaign_id, day).settle()


ROUTES = [
    Route.of(
        "POST",
        r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/grabs",
        grabs,
        label="api/v1/campaigns/<slug:slug>/grabs",
    ),
    Route.of(
        "POST",
        r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/reservations",
        reservations,
        label="api/v1/campaigns/<slug:slug>/reservations",
    ),
]
