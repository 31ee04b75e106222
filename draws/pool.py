"""The pool that claims and rushes take coupons from: the batches put into it.

A ``Release`` is a batch of coupons of one type put into the pool: employees
release batches into claim campaigns (``draws.claim.releases``), and each rush
day's coupons are one release that grows with its reservations
(``draws.rush.services.reserve``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from campaigns.models import CouponType


class Release(models.Model):
    """A batch of coupons of one type put into the pool (claim and rush modes).

    Employees release batches into claim campaigns (``batch_release``); a rush
    day's coupons are one release that grows with its reservations. The table
    keeps its first name (``campaigns_release``): the model moved here.
    """

    coupon_type = models.ForeignKey(
        CouponType, on_delete=models.CASCADE, related_name="releases"
    )
    count = models.PositiveIntegerField()
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "campaigns_release"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.count} x {self.coupon_type.name} at {self.created_at:%Y-%m-%d %H:%M}"
