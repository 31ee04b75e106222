from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
        Customer,
        on_delete=models.PROTECT,
        related_name="draws",
        verbose_name=_("customer"),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        related_name="draws",
        verbose_name=_("campaign"),
    )
    day = models.DateField(
        _("day"), help_text=_("The campaign's local date of the draw.")
    )
    won = models.BooleanField(_("won"), default=False)
    coupon_type = models.ForeignKey(
        CouponType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="draws",
        verbose_name=_("coupon type"),
        help_text=_("The type the roll landed on (even if its quota was spent)."),
    )
    voucher = models.OneToOneField(
        Voucher,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="draw",
        verbose_name=_("voucher"),
    )
    roll = models.FloatField(
        _("roll"), help_text=_("The uniform random number in [0, 1) drawn.")
    )
    odds = models.JSONField(
        _("odds"), default=list, help_text=_("[[coupon type id, probability], …]")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    from_seed = models.BooleanField(
        _("from seed"),
        default=False,
        db_default=False,
        help_text=_(
            "The roll is the day's seed's HMAC of the draw's identity "
            "(draws.draw.fairness), so anyone can check it once the seed is "
            "revealed; false for draws made before seeds."
        ),
    )

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
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
        if self.won:
            return _("%(customer)s on %(day)s: won %(coupon_type)s") % {
                "customer": self.customer,
                "day": self.day,
                "coupon_type": self.coupon_type.name,
            }
        return _("%(customer)s on %(day)s: no prize") % {
            "customer": self.customer,
            "day": self.day,
        }


class DrawSeed(models.Model):
    """A draw campaign's secret for one local day (issue 15): every roll of the
    day is derived from it (``draws.draw.fairness``).

    ``seed_hash`` (SHA-256 of the seed) is published before the day's first
    draw; the seed itself is shown only once the campaign's local day has
    ended. The unique constraint keeps one seed per campaign and day however
    many processes create it at once.
    """

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        related_name="draw_seeds",
        verbose_name=_("campaign"),
    )
    day = models.DateField(
        _("day"), help_text=_("The campaign's local date the seed is for.")
    )
    seed = models.BinaryField(
        _("seed"),
        max_length=32,
        help_text=_("32 bytes from the OS CSPRNG (secrets)."),
    )
    seed_hash = models.CharField(
        _("seed hash"),
        max_length=64,
        help_text=_("SHA-256 of the seed's bytes, hex: published."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("draw seed")
        verbose_name_plural = _("draw seeds")
        ordering = ["campaign", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "day"], name="draw_seed_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        return _("%(campaign)s on %(day)s: %(hash)s…") % {
            "campaign": self.campaign,
            "day": self.day,
            "hash": self.seed_hash[:12],
        }

    def is_revealed(self, now=None) -> bool:
        """Whether the campaign's local day has ended (the seed may be shown)."""
        return self.campaign.local_day(now) > self.day
