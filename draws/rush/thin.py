"""The rush's thin path: grab refusals answered on the event loop (issue 18).

``POST /api/v1/campaigns/<slug>/grabs`` comes here first
(``couponsite.server.thin``). Within one Redis round trip the gate checks the
token and the rate limits, then ``grab_peek`` below applies the rush's rules in
their order (reservation, already received, sold out) without taking a coupon.
A refusal is answered here, byte for byte what ``draws.rush.api.GrabApi``
answers; a grab that may win, and anything this path is not sure of, goes to
Django, which takes the coupon and commits it.

The window comes first, as in ``rush_grab``: outside it the answer is
``NOT_IN_ACTIVE_TIME`` after the token and rate limits alone.
"""

import datetime as dt
import functools
import logging

from django.utils import timezone

from campaigns.models import Campaign
from campaigns.schedule import RushCycle
from couponsite.server import thin
from couponsite.server.router import Receive, Route, Scope, Send
from draws.opening import NotInActiveTime, held_campaign
from draws.rush.services.common import (
    AlreadyReceived,
    NotReservation,
    SoldOut,
    local,
    rush_cycle_at,
)
from draws.rush.services.redis_state import RushKeys

logger = logging.getLogger(__name__)

# grab.lua's checks, in its order, taking nothing: KEYS as RushKeys.grab().
GRAB_PEEK = thin.Gate.of("""
local function body(customer, k, args)
  local ttl = redis.call('PTTL', k[1])
  if ttl == -2 then
    return {'PASS', 'cold'}
  end
  if ttl < 1000 then
    ttl = 1000
  end
  if not redis.call('HGET', k[2], customer) then
    return {'NOT_RESERVATION'}
  end
  local had = redis.call('HGET', k[3], customer)
  if had then
    if redis.call('ZSCORE', k[5], had .. ':' .. customer) then
      return {'PASS', 'in flight'}
    end
    return {'ALREADY_RECEIVED'}
  end
  if redis.call('EXISTS', k[6]) == 1 then
    return {'SOLD_OUT'}
  end
  if redis.call('LLEN', k[4]) > 0 then
    return {'PASS', 'stock'}
  end
  if redis.call('ZCARD', k[5]) > 0 then
    return {'PASS', 'in flight'}
  end
  redis.call('SET', k[6], args[1], 'PX', ttl)
  return {'SOLD_OUT'}
end
""")

GATE_ONLY = thin.Gate.of(thin.DECIDED)

_REFUSALS = {
    "NOT_RESERVATION": NotReservation,
    "ALREADY_RECEIVED": AlreadyReceived,
    "SOLD_OUT": SoldOut,
}


async def grab_refusals(scope: Scope, receive: Receive, send: Send) -> bool:
    request = thin.ThinRequest.of(scope)
    if request is None:
        return False
    campaign = held_campaign(scope["path_params"]["slug"], Campaign.Kind.RUSH)
    if campaign is None:
        return False
    redis = thin.loop_redis()
    if redis is None:
        return False
    now = timezone.now()
    cycle = _cycle(campaign, now)
    open_now = campaign.is_running(now) and cycle is not None and cycle.in_rush(now)
    try:
        if open_now:
            reply = await GRAB_PEEK.run(
                redis,
                request=request,
                scope_name="grab",
                keys=_grab_keys(campaign.pk, cycle.day),
                args=[int(now.timestamp() * 1000)],
            )
        else:
            reply = await GATE_ONLY.run(redis, request=request, scope_name="grab")
    except thin.THIN_REDIS_ERRORS:
        thin.redis_failed()
        return False
    outcome = reply[0]
    if outcome == "PASS":
        return False
    if outcome == "LIMITED":
        await thin.rate_limited(send, int(reply[2]))
        return True
    if outcome == "DECIDED":
        await thin.refuse(send, NotInActiveTime("The rush is not on right now."))
        return True
    if outcome == "ALREADY_RECEIVED":
        _remember_received(campaign, cycle.day, int(reply[1]))
    await thin.refuse(send, _REFUSALS[outcome]())
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


def _remember_received(campaign: Campaign, day: dt.date, customer_id: int) -> None:
    local.remember_received(campaign.pk, day, customer_id)


ROUTES = [
    Route.of(
        "POST", r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/grabs", grab_refusals
    ),
]
