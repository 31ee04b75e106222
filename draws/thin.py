"""What the modes' thin routes share (``couponsite.server.thin``, issue 18).

Every route starts the same way (``thin_start``): a usual request, the loop's
Redis, and the campaign as this process already holds it (``held_campaign``,
no query on the loop); draws and claims then open the campaign's day
(``once_a_day_start``: ``NOT_IN_ACTIVE_TIME`` when it is not running, else
the day and its marks' key). Draws and claims read their once-a-day marks in their
gate (the draw's body is ``DONE_TODAY``; the claim's adds the pool's sold-out
flag) and write them back the same way (``remember_done_today_on_loop``).
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from campaigns.caching import campaign_cache_key
from campaigns.models import Campaign
from campaigns.selectors import campaign_by_slug
from couponsite.localcache import MISSING, local_peek_stale
from couponsite.server import thin
from couponsite.server.loop_redis import LoopRedis
from couponsite.server.router import Scope, Send
from draws.daily_marks import (
    DONE_TODAY_BODY,
    MARK_VALUE,
    done_today_key_prefix,
    mark_ttl,
)
from draws.opening import NotInActiveTime, Today, open_today

logger = logging.getLogger(__name__)


def _mark_key(customer: str, keys, args) -> list[str]:
    """The one key ``DONE_TODAY_BODY`` reads: the customer's mark (on a Redis
    Cluster the body runs on its slot)."""
    return [f"{args[0]}{customer}"]


DONE_TODAY = thin.Gate.of(DONE_TODAY_BODY, on_cluster=True, cluster_keys=_mark_key)
GATE_ONLY = thin.Gate.of(thin.DECIDED, on_cluster=True)


def held(key: str, load: Callable[[], object]) -> object:
    """What this process holds under ``key`` (``couponsite.localcache``), no
    query, or ``MISSING``.

    For the thin path, on the event loop: what Django last read, within
    ``LOCAL_CACHE_SECONDS`` as for Django. Once the entry is past half its
    life, the thin path's refresh thread reads it again (``load``, in
    ``couponsite.server.thin.refresh_soon``), so under steady traffic it never
    times out and a stampede does not fall through to Django each time it
    would have; a timed-out entry is never used (Django answers, and reads it).
    """
    value, stale_for = local_peek_stale(key)
    if value is MISSING:
        return MISSING
    if stale_for > -settings.LOCAL_CACHE_SECONDS / 2:
        thin.refresh_soon(key, load)
    if stale_for > 0:
        return MISSING
    return value


def held_campaign(slug: str, kind: Campaign.Kind) -> Campaign | None:
    """The campaign of ``kind`` this process already holds (``held``), or None;
    None also for a draft (customers are told 404) and another kind
    (``WRONG_CAMPAIGN_KIND``): Django gives those answers.
    """
    campaign = held(
        campaign_cache_key(slug), lambda: campaign_by_slug(slug, reload=True)
    )
    if (
        campaign is MISSING
        or not campaign
        or campaign.kind != kind
        or campaign.status == (Campaign.Status.DRAFT)
    ):
        return None
    return campaign


@dataclass(frozen=True)
class ThinStart:
    request: thin.ThinRequest
    redis: LoopRedis
    campaign: Campaign


def thin_start(scope: Scope, kind: Campaign.Kind) -> ThinStart | None:
    """What a mode's thin route needs first, or None: Django answers."""
    request = thin.ThinRequest.of(scope)
    if request is None:
        return None
    redis = thin.loop_redis()  # first: without it nothing here may be read again
    if redis is None:
        return None
    campaign = held_campaign(scope["path_params"]["slug"], kind)
    if campaign is None:
        return None
    return ThinStart(request, redis, campaign)


@dataclass(frozen=True)
class OnceADay:
    start: ThinStart
    today: Today
    mark: str  # the day's marks' key prefix (``done_today_key_prefix``)
    now: dt.datetime


async def once_a_day_start(
    scope: Scope, send: Send, *, kind: Campaign.Kind, action: str, scope_name: str
) -> OnceADay | bool:
    """How a once-a-day route (draws, claims) starts, in ``open_today``'s
    order: ``thin_start``; ``NOT_IN_ACTIVE_TIME`` when the campaign is not
    running (decided in Python; the gate alone then checks the token and the
    ``scope_name`` limits); the day and its marks' key. A bool when the request
    is already answered (True) or Django's (False)."""
    start = thin_start(scope, kind)
    if start is None:
        return False
    now = timezone.now()
    try:
        today = open_today(start.campaign, kind, now)
    except NotInActiveTime as closed:
        return await GATE_ONLY.refuse_or_pass(
            send,
            start.redis,
            request=start.request,
            scope_name=scope_name,
            refusals={"DECIDED": closed},
        )
    mark = done_today_key_prefix(action=action, campaign=start.campaign, day=today.day)
    if mark is None:
        return False
    return OnceADay(start, today, mark, now)


async def remember_done_today_on_loop(
    redis: LoopRedis,
    *,
    campaign: Campaign,
    mark: str,
    customer_id: int,
    now: dt.datetime,
) -> None:
    """Write the customer's mark (``mark``: ``done_today_key_prefix``) on the
    loop's Redis, as ``remember_done_today`` writes it, once the database holds
    the day's row."""
    try:
        await redis.set(f"{mark}{customer_id}", MARK_VALUE, ex=mark_ttl(campaign, now))
    except thin.THIN_REDIS_ERRORS:
        # Without the mark a repeat goes to the database, which refuses it.
        logger.warning("thin path: could not write a done-today mark", exc_info=True)
