"""The events the retailer's systems may subscribe to (docs/webhooks.md)."""

from django.db import models


class EventType(models.TextChoices):
    VOUCHER_ISSUED = (
        "voucher.issued",
        "voucher.issued: a voucher was given to a customer",
    )
    VOUCHER_REDEEMED = "voucher.redeemed", "voucher.redeemed: a voucher was used"
    VOUCHER_VOIDED = "voucher.voided", "voucher.voided: staff voided a voucher"
    VOUCHER_ROLLED_BACK = (
        "voucher.rolled_back",
        "voucher.rolled_back: staff rolled back a redemption",
    )
    CLAIM_LAPSED = "claim.lapsed", "claim.lapsed: a claimed coupon's hold ran out"
    RUSH_SOLD_OUT = "rush.sold_out", "rush.sold_out: a rush day's coupons ran out"
    DRAW_WON = "draw.won", "draw.won: a customer won in a lucky draw"


EVENT_TYPES = frozenset(EventType.values)
