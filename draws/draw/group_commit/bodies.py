"""A draw's ``201`` body, from plain rows (``vouchers.group_commit.bodies``)."""

import datetime as dt

from django.utils import timezone

from campaigns.models import CouponType
from vouchers.group_commit.bodies import (
    VoucherRow,
    benefit_data,
    datetime_text,
    decimal_text,
    render,
    voucher_data,
)
from vouchers.models import Voucher


def voucher_row(
    coupon_type: CouponType,
    slug: str,
    code: str,
    email: str,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
) -> VoucherRow:
    """The coupon ``voucher_issue`` makes, as its body shows it."""
    return VoucherRow(
        code=code,
        status=Voucher.Status.ISSUED.value,
        # The benefit and the rules, copied as voucher_issue copies them.
        **coupon_type.benefit_fields(),
        email=email,
        issued_at=issued_at,
        expires_at=expires_at,
        held_until=None,
        used_at=None,
        order_ref="",
        coupon_type_name=coupon_type.name,
        campaign_slug=slug,
    )


def draw_body(
    *,
    draw_id: int,
    day: dt.date,
    created_at: dt.datetime,
    coupon_type: CouponType | None,
    voucher: VoucherRow | None,
    now: dt.datetime | None = None,
) -> bytes:
    """``DrawSerializer(draw).data``, rendered (``vouchers.group_commit.bodies``);
    the coupon's status as of ``now``."""
    zone = timezone.get_current_timezone()
    return render(
        {
            "id": draw_id,
            "day": day.isoformat(),
            "won": voucher is not None,
            "coupon_type": (
                None if coupon_type is None else _coupon_type_data(coupon_type, zone)
            ),
            "voucher": (
                None
                if voucher is None
                else voucher_data(voucher, now=now or timezone.now(), zone=zone)
            ),
            "created_at": datetime_text(created_at, zone),
        }
    )


def _coupon_type_data(coupon_type: CouponType, zone: dt.tzinfo) -> dict:
    """``CouponTypeSerializer(coupon_type).data``."""
    return {
        "id": coupon_type.pk,
        "name": coupon_type.name,
        "category": coupon_type.category,
        "benefit": benefit_data(coupon_type),
        "probability": decimal_text(coupon_type.probability, places=6, max_digits=7),
        "total_quota": coupon_type.total_quota,
        "daily_quota": coupon_type.daily_quota,
        "valid_days": coupon_type.valid_days,
        "valid_until": datetime_text(coupon_type.valid_until, zone),
        "hold_seconds": coupon_type.hold_seconds,
    }
