"""Reservations: numbered by the day's counter row, every fifth one makes a coupon."""

import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CouponType
from couponsite import metrics
from couponsite.codes import generate_code
from customers.models import Customer
from customers.services.blocking import customer_blocked_check, customer_may_take_part
from draws.opening import NotInActiveTime
from draws.pool import Release
from draws.rush.models import Reservation, RushDay
from draws.rush.services.common import (
    DuplicatedReservation,
    coupons_for,
    ratio_per_10000,
    require_rush,
    rush_coupon_type,
    rush_cycle_at,
)
from vouchers.models import Voucher
from vouchers.services import with_unique_codes


def _count_reservation(campaign_id: int, day: dt.date) -> tuple | None:
    """Add one reservation to the day's counter row; ``None`` if the day has no
    open row (none yet, or the rush has loaded and closed it).

    One statement: the row stays locked until the reservation commits, so the
    next reservation waits for this one's number to be used or rolled back.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(RushDay._meta.db_table)} "
            "SET reservations = reservations + 1, "
            "coupons = (reservations + 1) * coupons_per_10000 / 10000 "
            "WHERE campaign_id = %s AND day = %s AND reservations_closed_at IS NULL "
            "RETURNING id, release_id, reservations, coupons_per_10000",
            [campaign_id, connection.ops.adapt_datefield_value(day)],
        )
        return cursor.fetchone()


def rush_day_create(campaign: Campaign, day: dt.date) -> None:
    """The day's counter row and its release, unless another request made them."""
    if RushDay.objects.filter(campaign=campaign, day=day).exists():
        return
    coupon_type = rush_coupon_type(campaign)
    try:
        with transaction.atomic():
            release = Release.objects.create(
                coupon_type=coupon_type, count=0, note=f"Rush of {day.isoformat()}"
            )
            RushDay.objects.create(
                campaign=campaign,
                day=day,
                release=release,
                coupons_per_10000=ratio_per_10000(campaign.ratio),
            )
    except IntegrityError:
        if not RushDay.objects.filter(campaign=campaign, day=day).exists():
            raise


def _coupons_make(*, campaign: Campaign, release_id: int, count: int, now) -> None:
    """``count`` coupons of the day, free in its release, codes made now."""
    coupon_type = CouponType.objects.get(releases=release_id)
    for _coupon in range(count):
        with_unique_codes(
            lambda: Voucher.objects.create(
                code=generate_code(
                    length=coupon_type.code_length, prefix=coupon_type.code_prefix
                ),
                status=Voucher.Status.AVAILABLE,
                campaign=campaign,
                coupon_type=coupon_type,
                release_id=release_id,
                created_at=now,
                **coupon_type.benefit_fields(),
            )
        )
    Release.objects.filter(pk=release_id).update(count=F("count") + count)


def rush_reserve(
    *, campaign: Campaign, customer: Customer, now: dt.datetime | None = None
) -> Reservation:
    """Reserve ``customer`` a place in the day's rush and return the reservation.

    - A blocked customer is refused first (``CUSTOMER_BLOCKED``), and again
      by their row in the reservation's transaction.
    - Only a running rush campaign, inside its reservation window
      (``NOT_IN_ACTIVE_TIME``).
    - Once per customer, campaign and day: the unique constraint decides
      (``ERROR_DUPLICATED_RESERVATION``).
    - The number is the day's counter after one ``UPDATE … RETURNING`` in this
      transaction: a refused reservation rolls its increment back, so numbers
      run 1, 2, 3… with no gap and no repeat.
    - That statement also sets the day's coupons to floor(reservations *
      ratio); when they grow, the new coupon is made in this transaction.
    """
    customer_may_take_part(customer)
    now = now or timezone.now()
    require_rush(campaign)
    cycle = rush_cycle_at(campaign, now)
    if not (campaign.is_running(now) and cycle and cycle.in_reservation(now)):
        raise NotInActiveTime(_("Reservations are not open right now."))
    day = cycle.day
    try:
        with transaction.atomic():
            customer_blocked_check(customer.pk)
            counted = _count_reservation(campaign.pk, day)
            if counted is None:
                rush_day_create(campaign, day)
                counted = _count_reservation(campaign.pk, day)
            if counted is None:
                raise NotInActiveTime(_("Reservations for today's rush are closed."))
            rush_day_id, release_id, number, per_10000 = counted
            reservation = Reservation.objects.create(
                rush_day_id=rush_day_id,
                campaign=campaign,
                customer=customer,
                day=day,
                number=number,
                created_at=now,
            )
            metrics.count_on_commit(metrics.RESERVATIONS)
            made = coupons_for(number, per_10000) - coupons_for(number - 1, per_10000)
            if made:
                _coupons_make(
                    campaign=campaign, release_id=release_id, count=made, now=now
                )
    except IntegrityError:
        if Reservation.objects.filter(
            customer=customer, campaign=campaign, day=day
        ).exists():
            raise DuplicatedReservation() from None
        raise
    return reservation
