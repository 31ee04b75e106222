"""Claim and hold's thin path: repeats answered on the event loop (issue 18).

``POST /api/v1/campaigns/<slug>/claims`` comes here first
(``couponsite.server.thin``). Two answers are given here, byte for byte what
``draws.claim.api.ClaimApi`` gives, after the token and rate limits ("claim"),
in ``claim_take``'s order:

- ``NOT_IN_ACTIVE_TIME`` when the campaign is not running (``open_today``,
  decided in Python; the gate alone then checks the token and rate limits);
- ``429 ALREADY_CLAIMED_TODAY``, ``Retry-After`` to the campaign's local
  midnight, when the customer's "claimed today" mark (``draws.daily_marks``)
  is in Redis: the mark is only written once the database holds the day's
  claim, so this repeats an answer the database already gave.

``SOLD_OUT`` stays Django's: it is only given after the database said the
customer has no claim today (``claim_take``). Everything else goes to Django
too: a first claim (no mark), a campaign this process does not hold, a draft,
another kind, marks the script cannot read.
"""

from django.utils import timezone

from campaigns.models import Campaign
from couponsite.server import thin
from couponsite.server.router import Receive, Route, Scope, Send
from draws.claim.services import AlreadyClaimedToday
from draws.daily_marks import DONE_TODAY_BODY, done_today_key_prefix
from draws.opening import NotInActiveTime, held_campaign, open_today

CLAIMED_TODAY = thin.Gate.of(DONE_TODAY_BODY)
GATE_ONLY = thin.Gate.of(thin.DECIDED)


async def claim_repeats(scope: Scope, receive: Receive, send: Send) -> bool:
    request = thin.ThinRequest.of(scope)
    if request is None:
        return False
    redis = thin.loop_redis()  # first: without it nothing here may be read again
    if redis is None:
        return False
    campaign = held_campaign(scope["path_params"]["slug"], Campaign.Kind.CLAIM)
    if campaign is None:
        return False
    now = timezone.now()
    try:
        today = open_today(campaign, Campaign.Kind.CLAIM, now)
    except NotInActiveTime as closed:
        return await GATE_ONLY.refuse_or_pass(
            send,
            redis,
            request=request,
            scope_name="claim",
            refusals={"DECIDED": closed},
        )
    mark = done_today_key_prefix(action="claimed", campaign=campaign, day=today.day)
    if mark is None:
        return False
    return await CLAIMED_TODAY.refuse_or_pass(
        send,
        redis,
        request=request,
        scope_name="claim",
        args=[mark],
        refusals={"DONE": AlreadyClaimedToday(retry_after=today.seconds_left)},
    )


ROUTES = [
    Route.of(
        "POST", r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/claims", claim_repeats
    ),
]
