"""The ``201`` bodies of a reservation and a grab, from plain rows, in one pass.

Byte for byte what ``ReservationSerializer`` and ``GrabSerializer`` rendered by
DRF's ``JSONRenderer`` give (``draws/rush/tests/test_group_commit.py`` compares
them), for the group committer, which answers from the event loop without
building a model or a serializer. Each rule here mirrors the field that owns it:
times as ``DateTimeField`` writes them (in the default time zone, ``Z`` for
UTC), decimals as ``DecimalField`` (quantized, as strings), ``""`` as null
where the API says so (``BlankAsNull…``), the voucher's status and
``redeem_by`` as ``VoucherSerializer`` computes them at the moment of
answering. Rush coupons come from a coupon type, never from an offer, so
``offer_name`` is null and ``name`` is the coupon type's name.
"""

import datetime as dt
import decimal
import json
from typing import NamedTuple

from django.utils import timezone

from campaigns.models import benefit_text
from couponsite.codes import display_code
from vouchers.models import voucher_effective_status, voucher_redeem_deadline

_QUANTUM = decimal.Decimal(".01")
# The benefit's two decimal fields, as BenefitSerializer declares them.
_AMOUNT_CONTEXT = decimal.Context(prec=10)
_PERCENT_CONTEXT = decimal.Context(prec=5)


class VoucherRow(NamedTuple):
    """The columns of an issued rush coupon that its ``201`` body shows."""

    code: str
    status: str
    benefit_kind: str
    amount: decimal.Decimal | None
    currency: str
    percent: decimal.Decimal | None
    free_item: str
    email: str
    issued_at: dt.datetime | None
    expires_at: dt.datetime | None
    held_until: dt.datetime | None
    used_at: dt.datetime | None
    order_ref: str
    coupon_type_name: str
    campaign_slug: str | None


def _dump(data: dict) -> bytes:
    """``JSONRenderer.render`` with the API's settings (compact, UTF-8, strict)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def _datetime(value: dt.datetime | None, zone: dt.tzinfo) -> str | None:
    """``DateTimeField.to_representation``; ``zone`` is the current time zone
    (looked up once a body: the lookup costs more than the formatting)."""
    if not value:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _decimal(value: decimal.Decimal | None, context: decimal.Context) -> str | None:
    if value is None:
        return None
    return f"{value.quantize(_QUANTUM, context=context):f}"


def reservation_body(*, number: int, day: dt.date, created_at: dt.datetime) -> bytes:
    """``ReservationSerializer(reservation).data``, rendered."""
    zone = timezone.get_current_timezone()
    return _dump(
        {
            "number": number,
            "day": day.isoformat(),
            "created_at": _datetime(created_at, zone),
        }
    )


def grab_body(
    *,
    voucher: VoucherRow,
    day: dt.date,
    created_at: dt.datetime,
    now: dt.datetime | None = None,
) -> bytes:
    """``GrabSerializer(grab).data``, rendered; the voucher's status as of ``now``."""
    status = voucher_effective_status(voucher, now or timezone.now())
    zone = timezone.get_current_timezone()
    return _dump(
        {
            "voucher": {
                "code": display_code(voucher.code),
                "status": str(status),
                "name": voucher.coupon_type_name,
                "offer_name": None,
                "coupon_type": voucher.coupon_type_name,
                "campaign": voucher.campaign_slug,
                "benefit": {
                    "kind": voucher.benefit_kind,
                    "amount": _decimal(voucher.amount, _AMOUNT_CONTEXT),
                    "currency": voucher.currency or None,
                    "percent": _decimal(voucher.percent, _PERCENT_CONTEXT),
                    "free_item": voucher.free_item or None,
                    "text": benefit_text(voucher),
                },
                "email": voucher.email or None,
                "issued_at": _datetime(voucher.issued_at, zone),
                "expires_at": _datetime(voucher.expires_at, zone),
                "held_until": _datetime(voucher.held_until, zone),
                "used_at": _datetime(voucher.used_at, zone),
                "order_ref": voucher.order_ref or None,
                "redeem_by": _datetime(voucher_redeem_deadline(voucher, status), zone),
            },
            "day": day.isoformat(),
            "created_at": _datetime(created_at, zone),
        }
    )
