"""The ``rush.sold_out`` webhook: once per campaign and day, when its coupons ran out.

Which grab took the last coupon cannot be known inside its transaction
without serialising the day's grabs (another grab in flight still shows its
coupon free). So the day is looked at after each grab commits (the last grab
to commit sees every coupon taken) and on each ``SOLD_OUT`` answer (which
also covers a process that stopped between a grab's commit and that look):
when no coupon of the day's release is free, the event is emitted with a
once-only key, so the grabs that see it at the same time tell it once.
Nothing of this runs while no endpoint subscribes to ``rush.sold_out``.
"""

import datetime as dt

from django.db import transaction

from campaigns.models import Campaign
from draws.rush.models import RushDay
from vouchers.models import Voucher
from webhooks.events import EventType
from webhooks.services import emit
from webhooks.subscriptions import subscribed

# (campaign id, day) this process told already: no query for them again.
_told: set[tuple[int, dt.date]] = set()


def rush_sold_out_soon(campaign: Campaign, day: dt.date) -> None:
    """After the caller's transaction (a grab) commits, tell the day sold out if it is."""
    if subscribed(EventType.RUSH_SOLD_OUT) and (campaign.pk, day) not in _told:
        transaction.on_commit(lambda: rush_sold_out_tell(campaign, day), robust=True)


def rush_sold_out_tell(campaign: Campaign, day: dt.date) -> bool:
    """Emit ``rush.sold_out`` for the day if no coupon of it is free (once ever,
    the event's ``once_key``); whether the day is sold out."""
    key = (campaign.pk, day)
    if key in _told:
        return True
    if not subscribed(EventType.RUSH_SOLD_OUT):
        return False
    with transaction.atomic():
        rush_day = (
            RushDay.objects.filter(campaign=campaign, day=day)
            .values("release_id", "coupons", "reservations")
            .first()
        )
        if rush_day is None:
            return False
        if Voucher.objects.filter(
            release_id=rush_day["release_id"], status=Voucher.Status.AVAILABLE
        ).exists():
            return False
        emit(
            EventType.RUSH_SOLD_OUT,
            {
                "campaign": campaign.slug,
                "day": day,
                "coupons": rush_day["coupons"],
                "reservations": rush_day["reservations"],
            },
            once_key=f"rush.sold_out:{campaign.pk}:{day.isoformat()}",
        )
    _told.add(key)
    return True


def rush_sold_out_forget() -> None:
    """For tests: this process forgets which days it told."""
    _told.clear()
