"""What a webhook tells about a voucher (``webhooks.services.emit``'s payloads).

Ids, the code, the benefit, the campaign's slug and the customer's id: never a
phone number or an email (the receiving systems look customers up by id).
"""

from vouchers.models import Voucher
from vouchers.pricing import money_text


def voucher_payload(voucher: Voucher) -> dict:
    """The voucher as webhooks tell it (reads its campaign's and offer's names
    if they are not loaded: call it only when an event is emitted)."""
    return {
        "voucher": {
            "id": voucher.pk,
            "code": voucher.code,
            "status": voucher.status,
            "campaign": voucher.campaign.slug if voucher.campaign_id else None,
            "coupon_type_id": voucher.coupon_type_id,
            "offer": voucher.offer.name if voucher.offer_id else None,
            "customer_id": voucher.owner_id,
            "benefit": {
                "kind": voucher.benefit_kind,
                "amount": _decimal(voucher.amount),
                "currency": voucher.currency,
                "percent": _decimal(voucher.percent),
                "free_item": voucher.free_item,
            },
            "issued_at": voucher.issued_at,
            "expires_at": voucher.expires_at,
            "used_at": voucher.used_at,
            "order_ref": voucher.order_ref,
            # A redemption with an order: what it came to and the money taken
            # off, in its currency (null otherwise).
            "order": (
                {
                    "amount": money_text(voucher.order_amount, voucher.order_currency),
                    "currency": voucher.order_currency,
                    "discount_amount": money_text(
                        voucher.discount_granted, voucher.order_currency
                    ),
                }
                if voucher.order_currency
                else None
            ),
        }
    }


def _decimal(value) -> str | None:
    """As stored (two places), whether or not the row was read back."""
    return None if value is None else f"{value:.2f}"
