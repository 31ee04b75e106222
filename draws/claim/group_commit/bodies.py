"""A claim's ``201`` body, from plain rows (``vouchers.group_commit.bodies``)."""

import datetime as dt

from django.utils import timezone

from vouchers.group_commit.bodies import (
    VoucherRow,
    datetime_text,
    render,
    voucher_data,
)


def claim_body(
    *,
    claim_id: int,
    day: dt.date,
    held_until: dt.datetime,
    created_at: dt.datetime,
    voucher: VoucherRow,
    now: dt.datetime,
) -> bytes:
    """``ClaimSerializer(claim, context={"now": now}).data``, rendered."""
    zone = timezone.get_current_timezone()
    return render(
        {
            "id": claim_id,
            "day": day.isoformat(),
            "voucher": voucher_data(voucher, now=now, zone=zone),
            "held_until": datetime_text(held_until, zone),
            "created_at": datetime_text(created_at, zone),
        }
    )
