"""Group commit: many requests, one transaction, each answered after it.

The thin path (issue 18) decides a mode's writes on the event loop; this
package commits them to Postgres in groups, from that loop, on one connection
of its own (psycopg's ``AsyncConnection``; no ORM, which refuses to run
there). It is plumbing, below the apps: what it writes is each app's. An app
hands its requests to the committer with its ``Writer`` (the rush's
reservations and grabs in ``draws.rush.services.group_commit``, the draw's
first draws in ``draws.draw.group_commit``, first claims and a sold-out
claim's "claimed today?" read in ``draws.claim.group_commit``, redemptions in
``vouchers.group_commit``), which applies that app's rules to a whole group
in plain SQL built from the models' ``_meta`` (``sql``) and gives the bodies
without a serializer (``vouchers.group_commit.bodies`` has what they share: a
coupon).

"Answered only after Postgres committed" holds (``committer``):

- **One committer per event loop** (``group_committer()``), shared by every
  mode, so one connection per gunicorn worker. Requests queue while a batch is
  being written; when its ``COMMIT`` returns, everything queued (up to
  ``max_batch``) is the next batch. No artificial wait unless ``window`` is set
  (then the first request after an idle moment waits that long for company).
- **A batch is split into groups** by its writers (``Writer.group``): e.g. the
  reservations of each campaign and day, all grabs, the first draws of each
  campaign and day. Each group is one transaction; each request's future is
  set only after that transaction's ``COMMIT`` returned: a result, a refusal
  (``DomainError``), or ``GroupCommitFailed``.
- **A failure fails only the requests it concerns**: when a group's transaction
  fails, it is rolled back and each request is written again alone, in a
  transaction of its own; one that fails alone gets ``GroupCommitFailed``.
- **A lost connection** fails the requests of the transaction it was in with
  ``GroupCommitFailed`` (``outcome_unknown`` if it was lost after ``COMMIT``
  was sent: the transaction may have committed); the next batch connects again
  (after a failed connection attempt, batches fail at once for
  ``RECONNECT_BACKOFF_SECONDS``). A connection the server closed while it was
  idle is replaced before a batch uses it.

``GroupCommitFailed`` means "not decided here": the caller sends the request
down the normal (Django) path, which decides it again from what is committed
(a reservation that did commit is then a duplicate, a grab already received, a
draw already drawn today).
"""

from couponsite.group_commit.committer import (
    GroupCommitFailed,
    GroupCommitStats,
    GroupCommitter,
    Writer,
    connection_params,
    group_committer,
    group_committer_close,
    loop_committer,
    utc,
)

__all__ = [
    "GroupCommitFailed",
    "GroupCommitStats",
    "GroupCommitter",
    "Writer",
    "connection_params",
    "group_committer",
    "group_committer_close",
    "loop_committer",
    "utc",
]
