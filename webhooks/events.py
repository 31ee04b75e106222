"""The events the retailer's systems may subscribe to (docs/webhooks.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    VOUCHER_ISSUED = (
        "voucher.issued",
        _("voucher.issued: a voucher was given to a customer"),
    )
    VOUCHER_REDEEMED = "voucher.redeemed", _("voucher.redeemed: a voucher was used")
    VOUCHER_VOIDED = "voucher.voided", _("voucher.voided: staff voided a voucher")
    VOUCHER_ROLLED_BACK = (
        "voucher.rolled_back",
        _("voucher.rolled_back: staff rolled back a redemption"),
    )
    CLAIM_LAPSED = "claim.lapsed", _("claim.lapsed: a claimed coupon's hold ran out")
    RUSH_SOLD_OUT = "rush.sold_out", _("rush.sold_out: a rush day's coupons ran out")
    DRAW_WON = "draw.won", _("draw.won: a customer won in a lucky draw")


EVENT_TYPES = frozenset(EventType.values)
