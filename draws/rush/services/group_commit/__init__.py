"""The rush's writers for the group committer (``couponsite.group_commit``).

Reservations and Redis's winners, answered on the thin path
(``draws.rush.thin``), are committed in groups by the loop's committer, which
the draw shares. The rules are ``rush_reserve``'s and ``_grab_write``'s,
written for a batch (``reservations``, ``grabs``: plain SQL built from the
models' ``_meta`` by ``couponsite.group_commit.sql``; the ``201`` bodies without a
serializer):

- the reservations of each campaign and day are one group (one transaction,
  under the day's counter lock); all grabs are another;
- no coupon twice in a batch: a second grab of one waits for the next batch,
  so its answer is what it would be one after the other.

``reservation_submit`` and ``grab_submit`` queue a request and wait for its
answer; ``GroupCommitFailed`` sends the request down the Django path.
"""

import datetime as dt

from couponsite import metrics
from couponsite.group_commit import GroupCommitter, Writer, utc
from draws.rush.models import Grab
from draws.rush.services.group_commit.grabs import (
    Grabbed,
    GrabOutcome,
    GrabRequest,
    grabs_write,
)
from draws.rush.services.group_commit.reservations import (
    ReservationRequest,
    Reserved,
    reservations_write,
)


def _reservations(conn, group, requests):
    campaign_id, day = group
    return reservations_write(conn, campaign_id=campaign_id, day=day, requests=requests)


def _grabs(conn, group, requests):
    return grabs_write(conn, requests=requests)


def _count_reservations(answers) -> None:
    metrics.RESERVATIONS.inc(sum(isinstance(answer, Reserved) for answer in answers))


def _count_grabs(answers) -> None:
    metrics.GRABS_WON.inc(
        sum(
            isinstance(answer, Grabbed) and answer.outcome == GrabOutcome.GRANTED
            for answer in answers
        )
    )


RESERVATIONS = Writer(
    kind="reserve",
    group=lambda request: (request.campaign_id, request.day),
    write=_reservations,
    committed=_count_reservations,
)
GRABS = Writer(
    kind="grab",
    group=lambda request: None,
    write=_grabs,
    once_per_batch=lambda request: request.voucher_id,
    committed=_count_grabs,
)


async def reservation_submit(
    committer: GroupCommitter,
    *,
    campaign_id: int,
    day: dt.date,
    customer_id: int,
    now: dt.datetime | None = None,
) -> Reserved:
    """Reserve ``customer_id`` a place in the rush of ``day`` (the cycle's day;
    the caller checked the kind and the reservation window at ``now``), in a
    group of ``committer``'s.

    Raises ``DuplicatedReservation``, ``NotInActiveTime`` (the day is closed),
    ``RushNotConfigured`` or ``GroupCommitFailed``.
    """
    request = ReservationRequest(
        campaign_id=campaign_id, day=day, customer_id=customer_id, now=utc(now)
    )
    return await committer.submit(RESERVATIONS, request)


async def grab_submit(
    committer: GroupCommitter,
    *,
    campaign_id: int,
    day: dt.date,
    customer_id: int,
    reservation_id: int,
    voucher_id: int,
    now: dt.datetime | None = None,
    via: str = Grab.Via.REDIS,
) -> Grabbed:
    """Give ``voucher_id`` (popped for this customer by the Lua script, with
    their ``reservation_id``) to ``customer_id``, in a group of ``committer``'s;
    the outcome says whether it was granted, gone or refused (``Grabbed``).
    Raises ``GroupCommitFailed``.

    ``now`` (default: the time of the call) is the coupon's ``issued_at`` and
    the grab's ``created_at``; the coupon expires ``valid_days`` times 24 h
    later, or at the type's ``valid_until`` if sooner (``expiry_from`` of a
    UTC instant, as ``timezone.now()`` gives).
    """
    request = GrabRequest(
        campaign_id=campaign_id,
        day=day,
        customer_id=customer_id,
        reservation_id=reservation_id,
        voucher_id=voucher_id,
        now=utc(now),
        via=str(via),
    )
    return await committer.submit(GRABS, request)


__all__ = [
    "GRABS",
    "RESERVATIONS",
    "GrabOutcome",
    "Grabbed",
    "Reserved",
    "grab_submit",
    "reservation_submit",
]
