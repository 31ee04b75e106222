from django.db import models
from django.utils import timezone

from campaigns.models import Campaign
from customers.models import Customer
from vouchers.models import Voucher


class Claim(models.Model):
    """One customer's claim in a claim campaign on one local day (seed 002).

    The unique constraint on (customer, campaign, day) is the once-a-day rule.
    ``held_until`` keeps the end of the hold granted, so the history says who
    held which coupon when: two claims of one coupon never overlap in time.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="claims"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="claims"
    )
    day = models.DateField(help_text="The campaign's local date of the claim.")
    voucher = models.ForeignKey(
        Voucher, on_delete=models.PROTECT, related_name="claims"
    )
    held_until = models.DateTimeField(help_text="When the hold granted runs out.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "campaign", "day"], name="claim_once_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(held_until__gt=models.F("created_at")),
                name="claim_hold_ends_after_it_starts",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "day"], name="claim_campaign_day"),
            # "Over time": a campaign's claims by when, and its holds by when they end.
            models.Index(fields=["campaign", "created_at"], name="claim_campaign_time"),
            models.Index(
                fields=["campaign", "held_until"], name="claim_campaign_hold_end"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} on {self.day}: {self.voucher}"
