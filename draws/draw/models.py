from django.db import models
from django.utils import timezone

from campaigns.models import Campaign, CouponType
from customers.models import Customer
from vouchers.models import Voucher


class Draw(models.Model):
    """One customer's lucky draw in one campaign on one local day (seed 000).

    The unique constraint on (customer, campaign, day) is the once-a-day rule;
    ``odds`` keeps the distribution in force and ``roll`` the random number, so
    every outcome can be explained afterwards.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="draws"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="draws"
    )
    day = models.DateField(help_text="The campaign's local date of the draw.")
    won = models.BooleanField(default=False)
    coupon_type = models.ForeignKey(
        CouponType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="draws",
        help_text="The type the roll landed on (even if its quota was spent).",
    )
    voucher = models.OneToOneField(
        Voucher, null=True, blank=True, on_delete=models.PROTECT, related_name="draw"
    )
    roll = models.FloatField(help_text="The uniform random number in [0, 1) drawn.")
    odds = models.JSONField(
        default=list, help_text="[[coupon type id, probability], …]"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "campaign", "day"], name="draw_once_per_day"
            ),
            models.CheckConstraint(
                condition=~models.Q(won=True) | models.Q(voucher__isnull=False),
                name="draw_win_has_voucher",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "day", "won"], name="draw_campaign_day"),
            # "Over time": a campaign's draws and wins by when (index-only on Postgres).
            # ``won`` in the key (not INCLUDE, which SQLite lacks) for index-only scans.
            models.Index(
                fields=["campaign", "created_at", "won"], name="draw_campaign_time"
            ),
        ]

    def __str__(self) -> str:
        outcome = f"won {self.coupon_type.name}" if self.won else "no prize"
        return f"{self.customer} on {self.day}: {outcome}"
