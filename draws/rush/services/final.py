"""Sold-out days: what a process may answer alone once nothing can change.

A ``SOLD_OUT`` must come after the checks for the customer's reservation and
coupon, so a per-process "sold out" flag cannot answer by itself. But once a
day is sold out in Postgres it is final (``common.FinalDay``), and a process
that loads who reserved and who received answers every later grab of that day
from memory, in the right order, without Redis or Postgres.
"""

import datetime as dt
import logging

from django.db import transaction

from campaigns.models import Campaign
from draws.rush.models import Grab, Reservation, RushDay
from draws.rush.services.common import (
    FINAL_DAY_MAX_RESERVATIONS,
    FinalDay,
    local,
)
from vouchers.models import Voucher

logger = logging.getLogger(__name__)


def _final_day_read(
    campaign: Campaign, day: dt.date, now: dt.datetime
) -> FinalDay | None:
    """The day's final sets, or ``None`` while a coupon is still free (or in flight).

    First the day's reservations are closed, as loading Redis does (the UPDATE
    waits for reservations still committing), so who reserved is final. Then no
    coupon of the day may be free: a grab in flight leaves its coupon free until
    it commits, so every grab that will ever succeed has committed before the
    grabs are read.
    """
    RushDay.objects.filter(
        campaign=campaign, day=day, reservations_closed_at__isnull=True
    ).update(reservations_closed_at=now)
    rush_day = (
        RushDay.objects.filter(campaign=campaign, day=day)
        .values_list("release_id", "reservations")
        .first()
    )
    if rush_day is None:
        return None
    release_id, reservations = rush_day
    if reservations > FINAL_DAY_MAX_RESERVATIONS:
        return None
    if Voucher.objects.filter(
        release_id=release_id, status=Voucher.Status.AVAILABLE
    ).exists():
        return None
    reserved = Reservation.objects.filter(campaign=campaign, day=day)
    received = Grab.objects.filter(campaign=campaign, day=day)
    return FinalDay(
        reserved=frozenset(reserved.values_list("customer_id", flat=True)),
        received=frozenset(received.values_list("customer_id", flat=True)),
    )


def final_day_learn(campaign: Campaign, day: dt.date, now: dt.datetime) -> None:
    """After a ``SOLD_OUT``: load the day's final answers into this process.

    At once, or after the caller's transaction commits (the close would hold
    the day's counter row until it ends). At most one try a second per day and
    process, one thread at a time; a day not final yet is tried again later.
    Only ever an optimisation: a failure is logged and changes no answer.
    """
    key = (campaign.pk, day)
    if local.final_day(*key) is None and local.may_look_for_final_day(*key):
        transaction.on_commit(lambda: _learn(campaign, day, now), robust=True)


def _learn(campaign: Campaign, day: dt.date, now: dt.datetime) -> None:
    key = (campaign.pk, day)
    if not local.final_lock.acquire(blocking=False):
        return
    try:
        if local.final_day(*key) is not None or not local.may_look_for_final_day(*key):
            return
        local.looked_for_final_day(*key)
        final = _final_day_read(campaign, day, now)
    finally:
        local.final_lock.release()
    if final is not None:
        local.remember_final_day(*key, final)
        logger.info(
            "rush day sold out: answering its grabs from memory",
            extra={
                "campaign": campaign.pk,
                "day": str(day),
                "reserved": len(final.reserved),
                "received": len(final.received),
            },
        )
