"""What the group writers' ``201`` bodies share: rendering, and a coupon.

Byte for byte what DRF's ``JSONRenderer`` gives for the serializers' data
(``draws/rush/tests/test_group_commit.py`` and
``draws/draw/tests/test_group_commit.py`` compare them), for the group
committer, which answers from the event loop without building a model or a
serializer. Each rule here mirrors the field that owns it: times as
``DateTimeField`` writes them (in the default time zone, ``Z`` for UTC),
decimals as ``DecimalField`` (quantized, as strings), ``""`` as null where the
API says so (``BlankAsNull…``), the voucher's status and ``redeem_by`` as
``VoucherSerializer`` computes them at the moment of answering, ``name`` as
``Voucher.source_name`` (the offer's, else the coupon type's).
"""

import datetime as dt
import decimal
import functools
import json
from typing import NamedTuple

from campaigns.models import benefit_text
from couponsite.codes import display_code
from vouchers.models import voucher_effective_status, voucher_redeem_deadline

# The benefit's two decimal fields, as BenefitSerializer declares them.
_AMOUNT = (2, 10)
_PERCENT = (2, 5)


class VoucherRow(NamedTuple):
    """The columns of an issued coupon that a ``201`` body shows."""

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
    min_order_amount: decimal.Decimal | None
    max_discount: decimal.Decimal | None
    categories: str
    per_customer_limit: int | None
    coupon_type_name: str | None
    campaign_slug: str | None
    offer_name: str | None = None  # coupons of coupon types have no offer


# The voucher's own columns, in ``VoucherRow``'s order (the names of its coupon
# type, campaign and offer follow, from joins): what a writer selects for one.
VOUCHER_ROW_FIELDS = VoucherRow._fields[: VoucherRow._fields.index("coupon_type_name")]


def render(data: dict) -> bytes:
    """``JSONRenderer.render`` with the API's settings (compact, UTF-8, strict)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def datetime_text(value: dt.datetime | None, zone: dt.tzinfo) -> str | None:
    """``DateTimeField.to_representation``; ``zone`` is the current time zone
    (looked up once a body: the lookup costs more than the formatting)."""
    if not value:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@functools.cache
def _decimal_format(places: int, max_digits: int):
    return decimal.Decimal(1).scaleb(-places), decimal.Context(prec=max_digits)


def decimal_text(
    value: decimal.Decimal | None, *, places: int, max_digits: int
) -> str | None:
    """``DecimalField(max_digits, decimal_places=places).to_representation``."""
    if value is None:
        return None
    quantum, context = _decimal_format(places, max_digits)
    return f"{value.quantize(quantum, context=context):f}"


def benefit_data(row) -> dict:
    """``BenefitSerializer(row).data``; ``row``: anything with the benefit fields."""
    return {
        "kind": row.benefit_kind,
        "amount": decimal_text(row.amount, places=_AMOUNT[0], max_digits=_AMOUNT[1]),
        "currency": row.currency or None,
        "percent": decimal_text(
            row.percent, places=_PERCENT[0], max_digits=_PERCENT[1]
        ),
        "free_item": row.free_item or None,
        "text": benefit_text(row),
    }


def rules_data(row) -> dict:
    """``RedemptionRulesSerializer(row).data``; ``row``: anything with the rules fields."""
    return {
        "min_order_amount": decimal_text(
            row.min_order_amount, places=_AMOUNT[0], max_digits=_AMOUNT[1]
        ),
        "max_discount": decimal_text(
            row.max_discount, places=_AMOUNT[0], max_digits=_AMOUNT[1]
        ),
        "categories": list(filter(None, row.categories.split(","))),
        "per_customer_limit": row.per_customer_limit,
        "order_required": row.min_order_amount is not None or bool(row.categories),
    }


def voucher_data(voucher: VoucherRow, *, now: dt.datetime, zone: dt.tzinfo) -> dict:
    """``VoucherSerializer(voucher).data``; its status as of ``now``."""
    status = voucher_effective_status(voucher, now)
    return {
        "code": display_code(voucher.code),
        "status": str(status),
        "name": voucher.offer_name or voucher.coupon_type_name,
        "offer_name": voucher.offer_name,
        "coupon_type": voucher.coupon_type_name,
        "campaign": voucher.campaign_slug,
        "benefit": benefit_data(voucher),
        "email": voucher.email or None,
        "issued_at": datetime_text(voucher.issued_at, zone),
        "expires_at": datetime_text(voucher.expires_at, zone),
        "held_until": datetime_text(voucher.held_until, zone),
        "used_at": datetime_text(voucher.used_at, zone),
        "order_ref": voucher.order_ref or None,
        "redeem_by": datetime_text(voucher_redeem_deadline(voucher, status), zone),
        "rules": rules_data(voucher),
    }
