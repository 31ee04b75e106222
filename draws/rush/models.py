from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from customers.models import Customer
from draws.pool import Release
from vouchers.models import Voucher


class RushDay(models.Model):
    """One local day of a rush campaign (seed 003): its reservation counter and coupons.

    The row is the day's ticket machine: one ``UPDATE … RETURNING`` adds a
    reservation and hands out its number, in the reservation's transaction, so
    numbers are 1, 2, 3… without gaps. The same statement keeps ``coupons`` at
    floor(reservations * ratio) (a check constraint holds it there), and the
    coupon it adds is made in that transaction too. The ratio is copied from
    the campaign at the day's first reservation, so an edit takes effect the
    next day. The day's coupons are the vouchers of ``release``.

    Loading the rush sets ``reservations_closed_at`` with an UPDATE of this
    row, which waits for reservations still committing; the counter refuses
    any reservation after it, so what the rush loaded is final.
    """

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        related_name="rush_days",
        verbose_name=_("campaign"),
    )
    day = models.DateField(
        _("day"), help_text=_("The local date the reservation window opened.")
    )
    release = models.OneToOneField(
        Release,
        on_delete=models.PROTECT,
        related_name="rush_day",
        verbose_name=_("release"),
    )
    coupons_per_10000 = models.PositiveIntegerField(
        _("coupons per 10000"),
        help_text=_("The day's ratio: coupons per 10,000 reservations (2000 = 20%)."),
    )
    reservations = models.PositiveBigIntegerField(_("reservations"), default=0)
    coupons = models.PositiveBigIntegerField(_("coupons"), default=0)
    reservations_closed_at = models.DateTimeField(
        _("reservations closed at"),
        null=True,
        blank=True,
        help_text=_(
            "Set when the rush state is loaded: later reservations are refused."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("rush day")
        verbose_name_plural = _("rush days")
        ordering = ["-day", "campaign"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "day"], name="rush_day_once_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(coupons_per_10000__lte=10000),
                name="rush_day_ratio_at_most_1",
            ),
            # Integer division: floor for these non-negative numbers, exact in SQL.
            models.CheckConstraint(
                condition=models.Q(
                    coupons=models.F("reservations")
                    * models.F("coupons_per_10000")
                    / 10000
                ),
                name="rush_day_coupons_follow_reservations",
            ),
        ]

    def __str__(self) -> str:
        return _("%(campaign)s on %(day)s") % {
            "campaign": self.campaign,
            "day": self.day,
        }

    @property
    def ratio(self) -> Decimal:
        return Decimal(self.coupons_per_10000) / 10000


class Reservation(models.Model):
    """A customer's place in one day's rush; ``number`` is their ticket that day."""

    rush_day = models.ForeignKey(
        RushDay,
        on_delete=models.PROTECT,
        related_name="reservation_set",
        verbose_name=_("rush day"),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        related_name="reservations",
        verbose_name=_("campaign"),
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="reservations",
        verbose_name=_("customer"),
    )
    day = models.DateField(
        _("day"), help_text=_("The local date the reservation window opened.")
    )
    number = models.PositiveIntegerField(_("number"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-day", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "campaign", "day"],
                name="reservation_once_per_day",
            ),
            models.UniqueConstraint(
                fields=["campaign", "day", "number"], name="reservation_number_unique"
            ),
        ]
        indexes = [
            # "Over time": a campaign's reservations by when.
            models.Index(
                fields=["campaign", "created_at"], name="reservation_campaign_time"
            ),
        ]

    def __str__(self) -> str:
        return _("#%(number)s %(customer)s on %(day)s") % {
            "number": self.number,
            "customer": self.customer,
            "day": self.day,
        }


class Grab(models.Model):
    """A reserved customer's coupon from one day's rush: at most one each, one each.

    Unique on (customer, campaign, day) and on the reservation; the voucher is
    one of the day's coupons, given to one grab only.
    """

    class Via(models.TextChoices):
        REDIS = "redis", _("Redis fast path")
        POSTGRES = "postgres", _("Postgres (Redis unavailable)")

    reservation = models.OneToOneField(
        Reservation,
        on_delete=models.PROTECT,
        related_name="grab",
        verbose_name=_("reservation"),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        related_name="grabs",
        verbose_name=_("campaign"),
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="grabs",
        verbose_name=_("customer"),
    )
    day = models.DateField(_("day"), help_text=_("The local date of the rush's cycle."))
    voucher = models.OneToOneField(
        Voucher,
        on_delete=models.PROTECT,
        related_name="grab",
        verbose_name=_("voucher"),
    )
    via = models.CharField(_("via"), max_length=8, choices=Via.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("grab")
        verbose_name_plural = _("grabs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "campaign", "day"], name="grab_once_per_day"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "day"], name="grab_campaign_day"),
            # "Over time": a campaign's grabs by when.
            models.Index(fields=["campaign", "created_at"], name="grab_campaign_time"),
        ]

    def __str__(self) -> str:
        return _("%(customer)s on %(day)s: %(voucher)s") % {
            "customer": self.customer,
            "day": self.day,
            "voucher": self.voucher,
        }
