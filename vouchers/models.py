import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Benefit, Campaign, CouponType, RedemptionRules
from couponsite.codes import display_code
from customers.models import Customer


class Offer(RedemptionRules):
    """A special offer of the voucher pool (seed 001): a name and its current discount.

    Changing the discount (or the redemption rules) changes no voucher already
    issued: each voucher keeps a copy of what it was issued with.
    """

    name = models.CharField(_("name"), max_length=120)
    discount = models.DecimalField(
        _("discount"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Percentage off for vouchers issued from now on."),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        blank=True,
        help_text=_("The currency orders must be in (needed by the money rules)."),
    )
    code_prefix = models.CharField(_("code prefix"), max_length=8, blank=True)
    code_length = models.PositiveSmallIntegerField(
        _("code length"),
        default=10,
        validators=[MinValueValidator(10), MaxValueValidator(20)],
        help_text=_("Random symbols per code (5 bits each; 10 = 50 bits)."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="offer_name_unique_ci"),
            models.CheckConstraint(
                condition=Q(discount__gte=0, discount__lte=100),
                name="offer_discount_0_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class VoucherQuerySet(models.QuerySet):
    def usable(self, now: dt.datetime):
        """Issued and unexpired, or held with the hold still running."""
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        return self.filter(unexpired).filter(
            Q(status=Voucher.Status.ISSUED)
            | Q(status=Voucher.Status.HELD, held_until__gt=now)
        )

    def valid_for(self, customer: Customer, now: dt.datetime):
        """A customer's vouchers they can still use, soonest to expire first."""
        return (
            self.usable(now)
            .filter(owner=customer)
            .select_related("offer", "coupon_type", "campaign")
            .order_by(models.F("expires_at").asc(nulls_last=True), "id")
        )

    def claimable(self, now: dt.datetime):
        """In the pool: available, or held with the hold run out."""
        return self.filter(
            Q(status=Voucher.Status.AVAILABLE)
            | Q(status=Voucher.Status.HELD, held_until__lte=now)
        )


class Voucher(Benefit, RedemptionRules):
    """One coupon instance, for every mode.

    ``code`` is stored canonical (see ``couponsite.codes``). A voucher comes from
    a coupon type of a campaign (draw win, released batch) or from an offer of
    the voucher pool; it carries a copy of its benefit and redemption rules,
    so later edits of the type or offer change nothing already issued.

    A redemption with an order records it (``order_amount``, ``order_currency``)
    and the money it took off (``discount_granted``), so reports can sum it.
    """

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")  # in a pool, nobody holds it
        HELD = "held", _("Held")  # claimed, held for one customer until held_until
        ISSUED = "issued", _("Issued")  # belongs to its owner until used or expired
        REDEEMED = "redeemed", _("Redeemed")
        EXPIRED = "expired", _("Expired")
        VOID = "void", _("Void")

    code = models.CharField(_("code"), max_length=32, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ISSUED
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
    )
    coupon_type = models.ForeignKey(
        CouponType,
        verbose_name=_("coupon type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
    )
    offer = models.ForeignKey(
        Offer,
        verbose_name=_("offer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
    )
    # The batch a claim or rush coupon came in (``draws.Release``, named by
    # string: vouchers know no mode; the modes know vouchers).
    release = models.ForeignKey(
        "draws.Release",
        verbose_name=_("release"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="vouchers",
    )
    owner = models.ForeignKey(
        Customer,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
    )
    # The pool's vouchers are issued to an email; the customer with that email owns them.
    email = models.EmailField(_("email"), blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    held_until = models.DateTimeField(_("held until"), null=True, blank=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    order_ref = models.CharField(_("order ref"), max_length=100, blank=True)
    order_amount = models.DecimalField(
        _("order amount"), max_digits=15, decimal_places=3, null=True, blank=True
    )
    order_currency = models.CharField(_("order currency"), max_length=3, blank=True)
    discount_granted = models.DecimalField(
        _("discount granted"),
        max_digits=15,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("Money taken off the order at redemption (in its currency)."),
    )
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("redeemed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "The staff user who redeemed it at checkout (empty: the owner did)."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = VoucherQuerySet.as_manager()

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        # Staff change vouchers only through these actions (the page edits nothing).
        permissions = [
            ("void_voucher", "Can void vouchers"),
            ("rollback_voucher", "Can roll back a voucher's redemption"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(coupon_type__isnull=False) | Q(offer__isnull=False),
                name="voucher_has_a_source",
            ),
            models.CheckConstraint(
                condition=~Q(status="held")
                | Q(owner__isnull=False, held_until__isnull=False),
                name="voucher_held_has_holder_and_deadline",
            ),
            models.CheckConstraint(
                condition=~Q(status="redeemed") | Q(used_at__isnull=False),
                name="voucher_redeemed_has_used_at",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="voucher_owner_status"),
            models.Index(fields=["email", "status"], name="voucher_email_status"),
            # The claim pool: pick among available (or lapsed held) coupons of a type.
            models.Index(
                fields=["coupon_type", "id"],
                name="voucher_pool_pick",
                condition=Q(status__in=["available", "held"]),
            ),
            # The hold sweeper and the sold-out flag: running and lapsed holds by deadline.
            models.Index(
                fields=["held_until"],
                name="voucher_hold_deadline",
                condition=Q(status="held"),
            ),
            # "Over time": a campaign's redemptions by when, and a claim
            # campaign's redeemed holds by when they ended; only redeemed rows.
            models.Index(
                fields=["campaign", "used_at"],
                name="voucher_campaign_redeemed_at",
                condition=Q(status="redeemed"),
            ),
            models.Index(
                fields=["campaign", "held_until"],
                name="voucher_campaign_redeemed_hold",
                condition=Q(status="redeemed"),
            ),
        ]

    def __str__(self) -> str:
        return display_code(self.code)

    def effective_status(self, now: dt.datetime | None = None) -> str:
        """The status as a person sees it now: lapsed holds and expiry need no job."""
        return voucher_effective_status(self, now or timezone.now())

    @property
    def source_name(self) -> str:
        if self.offer_id:
            return self.offer.name
        return self.coupon_type.name


def voucher_effective_status(voucher, now: dt.datetime) -> str:
    """``Voucher.effective_status``; ``voucher``: anything with its ``status``,
    ``held_until`` and ``expires_at``, a model or a plain row."""
    status = voucher.status
    if status == Voucher.Status.HELD and voucher.held_until <= now:
        return Voucher.Status.AVAILABLE
    if (
        status in (Voucher.Status.ISSUED, Voucher.Status.HELD, Voucher.Status.AVAILABLE)
        and voucher.expires_at is not None
        and voucher.expires_at <= now
    ):
        return Voucher.Status.EXPIRED
    return status


def voucher_redeem_deadline(voucher, status: str) -> dt.datetime | None:
    """The real deadline to redeem a voucher whose effective status is
    ``status``: the end of the hold for a held one (``expires_at`` if sooner),
    ``expires_at`` for an issued one; None when it cannot be redeemed (any
    more) or never expires."""
    if status == Voucher.Status.HELD:
        deadline = voucher.held_until
        if voucher.expires_at is not None:
            deadline = min(deadline, voucher.expires_at)
        return deadline
    if status == Voucher.Status.ISSUED:
        return voucher.expires_at
    return None


class VoucherEvent(models.Model):
    """Append-only history of what happened to vouchers, for analytics and audit.

    Staff actions name the staff user; customers' actions name the customer.
    """

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Issued")
        RELEASED = "released", _("Released")
        CLAIMED = "claimed", _("Claimed")
        REDEEMED = "redeemed", _("Redeemed")
        EXPIRED = "expired", _("Hold expired")
        VOIDED = "voided", _("Voided")
        REDEMPTION_ROLLED_BACK = "rolled_back", _("Redemption rolled back")

    voucher = models.ForeignKey(
        Voucher,
        verbose_name=_("voucher"),
        on_delete=models.CASCADE,
        related_name="events",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("voucher event")
        verbose_name_plural = _("voucher events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["campaign", "kind", "created_at"],
                name="event_campaign_kind_time",
            ),
            models.Index(fields=["customer", "created_at"], name="event_customer_time"),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s %(voucher)s at %(time)s") % {
            "kind": self.get_kind_display(),
            "voucher": self.voucher or "",
            "time": f"{self.created_at:%Y-%m-%d %H:%M:%S}",
        }
