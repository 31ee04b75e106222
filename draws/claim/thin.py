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

from campaigns.models import Campaign
from couponsite.server.router import Route
from draws.claim.services import AlreadyClaimedToday
from draws.thin import repeats

ROUTES = [
    Route.of(
        "POST",
        r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/claims",
        repeats(
            kind=Campaign.Kind.CLAIM,
            action="claimed",
            scope_name="claim",
            refusal=AlreadyClaimedToday,
        ),
    ),
]
