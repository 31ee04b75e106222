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

from campaigns.models import Campaign
from couponsite.server.router import Route
from draws.draw.services import AlreadyDrawnToday
from draws.thin import repeats

ROUTES = [
    Route.of(
        "POST",
        r"/api/v1/campaigns/(?P<slug>[-a-zA-Z0-9_]+)/draws",
        repeats(
            kind=Campaign.Kind.DRAW,
            action="drew",
            scope_name="draw",
            refusal=AlreadyDrawnToday,
        ),
    ),
]
