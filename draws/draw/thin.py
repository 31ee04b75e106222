"""The lucky draw's thin path: repeats answered on the event loop (issue 18).

``POST /api/v1/campaigns/<slug>/draws`` comes here first
(``couponsite.server.thin``). Two answers are given here, byte for byte what
``draws.draw.api.DrawApi`` gives, after the token and rate limits ("draw"), in
``draw_run``'s order:

- ``NOT_IN_ACTIVE_TIME`` when the campaign is not running (``open_today``,
  decided in Python; the gate alone then checks the token and rate limits);
- ``429 ALREADY_DRAWN_TODAY``, ``Retry-After`` to the campaign's local
  midnight, when the customer's "drew today" mark (``draws.daily_marks``) is in
  Redis: the mark is only written once the unique constraint holds the day's
  draw, so this repeats an answer the database already gave.

Everything else goes to Django: a first draw (no mark), a campaign this process
does not hold, a draft, another kind, marks the script cannot read.
"""

from django.utils import timezone

from campaigns.models import Campaign
from couponsite.server import thin
from couponsite.server.router import Receive, Route, Scope, Send
from draws.daily_marks import DONE_TODAY_BODY, done_today_key_prefix
from draws.draw.services import AlreadyDrawnToday
from draws.opening import NotInActiveTime, held_campaign, open_today

DREW_TODAY = thin.Gate.of(DONE_TODAY_BODY)
GATE_ONLY = thin.Gate.of(thin.DECIDED)


async def draw_repeats(scope: Scope, receive: Receive, send: Send) -> bool:
    request = thin.ThinRequest.of(scope)
    if request is None:
        return False
    redis = thin.loop_redis()  # first: without it nothing here may be read again
    if redis is None:
        return False
    campaign = held_campaign(scope["path_params"]["slug"], Campaign.Kind.DRAW)
    if campaign is None:
        return False
    now = timezone.now()
    try:
        today = open_today(campaign, Campaign.Kind.DRAW, now)
    except NotInActiveTime as closed:
        return await GATE_ONLY.refuse_or_pass(
            send,
            redis,
            request=request,
            scope_name="draw",
            refusals={"DECIDED": closed},
        )
    mark = done_today_key_prefix(action="drew", campaign=campaign, day=today.day)
    if mark is None:
        return False
    return await DREW_TODAY.refuse_or_pass(
        send,
        redis,
        request=request,
        scope_name="draw",
        args=[mark],
        refusals={"DONE": AlreadyDrawnToday(retry_after=today.seconds_left)},
    )


ROUTES = [
    Route.of("POST", r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/draws", draw_repeats),
]
