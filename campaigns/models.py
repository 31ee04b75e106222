import datetime as dt
import functools
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone as django_timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from couponsite.languages import format_money


@functools.cache
def known_timezones() -> frozenset[str]:
    """The IANA names this server knows (read once: the lookup scans the tz files)."""
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    """The one time zone check: the model field's and the API field's validator."""
    if value not in known_timezones():
        raise ValidationError(
            gettext('"%(value)s" is not a known time zone (like Europe/Paris).')
            % {"value": value}
        )


# A coupon lives at most this long after it is issued: ten years is past any
# offer, and far inside what a date can hold (3,000,000 days overflowed).
MAX_VALID_DAYS = 3650


class Benefit(models.Model):
    """What a coupon is worth: an amount off, a percentage off, or a free item."""

    class Kind(models.TextChoices):
        AMOUNT = "amount", _("Amount off")
        PERCENT = "percent", _("Percentage off")
        FREE_ITEM = "free_item", _("Free item")

    benefit_kind = models.CharField(
        _("benefit kind"), max_length=16, choices=Kind.choices, default=Kind.PERCENT
    )
    amount = models.DecimalField(
        _("amount"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    percent = models.DecimalField(
        _("percent"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(100)],
    )
    free_item = models.CharField(
        _("free item"),
        max_length=120,
        blank=True,
        help_text=_('For example "Buy 1 get 1 free".'),
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        required = BENEFIT_REQUIRES[self.benefit_kind]
        missing = {
            name: gettext("Required for this kind of benefit.")
            for name in required
            if getattr(self, name) in (None, "")
        }
        if missing:
            raise ValidationError(missing)

    def benefit_fields(self) -> dict:
        """What a voucher copies when it is issued: the benefit, and the
        redemption rules when the source has them (``RedemptionRules``)."""
        return {name: getattr(self, name) for name in snapshot_fields(self)}

    @property
    def benefit_text(self) -> str:
        return benefit_text(self)


def benefit_text(benefit) -> str:
    """What a benefit gives, for people, in the active language ("US$10.00 off",
    "15% off", the free item). ``benefit``: anything with ``Benefit``'s fields,
    a model or a plain row."""
    if benefit.benefit_kind == Benefit.Kind.AMOUNT:
        money = format_money(benefit.amount, benefit.currency)
        return gettext("%(amount)s off") % {"amount": money}
    if benefit.benefit_kind == Benefit.Kind.PERCENT:
        return gettext("%(percent)s%% off") % {
            "percent": f"{benefit.percent.normalize():f}"
        }
    return benefit.free_item


BENEFIT_FIELDS = ("benefit_kind", "amount", "currency", "percent", "free_item")


class RedemptionRules(models.Model):
    """What an order must be for a coupon to apply to it (issue 15).

    All empty by default: a coupon without rules applies to any order, and is
    redeemed without one. Money rules are in the coupon's ``currency`` (the
    benefit's field; a percentage coupon with money rules must name it). A
    voucher copies these at issue with its benefit (``benefit_fields``), so
    editing the coupon type or offer later changes no voucher already given;
    ``vouchers.pricing`` applies them.
    """

    min_order_amount = models.DecimalField(
        _("min order amount"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The order must come to at least this much (in the currency)."),
    )
    max_discount = models.DecimalField(
        _("max discount"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Percentage off: never more than this much money off an order."),
    )
    categories = models.CharField(
        _("categories"),
        max_length=300,
        blank=True,
        help_text=_(
            "Comma-separated (shoes, bags): the order must list one of them. "
            "The discount then applies to the whole order. Empty: any order."
        ),
    )
    per_customer_limit = models.PositiveIntegerField(
        _("per customer limit"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "A customer may redeem at most this many coupons of the campaign "
            "(of the offer, for the voucher pool), this one included. Empty: no limit."
        ),
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        self.currency = getattr(self, "currency", "").upper()
        categories = normalize_categories(self.categories.split(","))
        self.categories = ",".join(categories)
        errors = redemption_rules_errors(
            currency=self.currency,
            benefit_kind=getattr(self, "benefit_kind", Benefit.Kind.PERCENT),
            min_order_amount=self.min_order_amount,
            max_discount=self.max_discount,
            categories=categories,
        )
        if errors:
            raise ValidationError(errors)

    @property
    def category_list(self) -> tuple[str, ...]:
        return tuple(filter(None, self.categories.split(",")))


RULES_FIELDS = ("min_order_amount", "max_discount", "categories", "per_customer_limit")


def normalize_categories(categories) -> tuple[str, ...]:
    """Categories as compared: trimmed, lower case, no blanks or repeats, in order."""
    return tuple(
        dict.fromkeys(c.strip().lower() for c in categories if c and c.strip())
    )


# A category's longest name: as long as an order's categories may be
# (``vouchers.serializers.OrderSerializer``), or no order could match it.
RULE_CATEGORY_MAX_LENGTH = 60
CATEGORIES_MAX_LENGTH = RedemptionRules._meta.get_field("categories").max_length


def redemption_rules_errors(
    *,
    currency: str,
    benefit_kind: str,
    min_order_amount: Decimal | None,
    max_discount: Decimal | None,
    categories: Sequence[str],
) -> dict[str, list[str]]:
    """The errors of a set of redemption rules, keyed by field: the one check
    the admin (``RedemptionRules.clean``, on the coupon type inline and the
    offer's page) and the staff API (campaign create, voucher generate) share.

    - Money rules (a minimum order, a maximum discount) are in a currency, so
      they need one.
    - Only a percentage off has a maximum discount.
    - Each category (``categories`` already normalized) fits in an order's
      category, and all of them in the column.

    Each value's own bounds (0.01 or more, 10 digits with 2 decimal places, a
    limit of 1 or more) are the model fields' validators, which both the admin
    form and the API serializer take from the fields.
    """
    errors: dict[str, list[str]] = {}
    money = [
        name
        for name, value in (
            ("min_order_amount", min_order_amount),
            ("max_discount", max_discount),
        )
        if value
    ]
    if money and not currency:
        errors["currency"] = [
            gettext(
                "Name the currency the order must be in: %(fields)s are amounts "
                "of money."
            )
            % {"fields": ", ".join(money)}
        ]
    if max_discount is not None and benefit_kind != Benefit.Kind.PERCENT:
        errors["max_discount"] = [
            gettext("Only a percentage off has a maximum discount.")
        ]
    if long := [c for c in categories if len(c) > RULE_CATEGORY_MAX_LENGTH]:
        errors["categories"] = [
            gettext(
                'A category has at most %(most)d characters ("%(start)s…" has '
                "%(length)d)."
            )
            % {
                "most": RULE_CATEGORY_MAX_LENGTH,
                "start": long[0][:20],
                "length": len(long[0]),
            }
        ]
    elif len(",".join(categories)) > CATEGORIES_MAX_LENGTH:
        errors["categories"] = [
            gettext(
                "The categories come to more than %(most)d characters, commas included."
            )
            % {"most": CATEGORIES_MAX_LENGTH}
        ]
    return errors


def snapshot_fields(source) -> tuple[str, ...]:
    """The fields a voucher copies from ``source`` (a coupon type or offer)."""
    if isinstance(source, RedemptionRules):
        return (*BENEFIT_FIELDS, *RULES_FIELDS)
    return BENEFIT_FIELDS


# The fields each kind of benefit needs (the API schema declares the same).
BENEFIT_REQUIRES: dict[str, tuple[str, ...]] = {
    Benefit.Kind.AMOUNT: ("amount", "currency"),
    Benefit.Kind.PERCENT: ("percent",),
    Benefit.Kind.FREE_ITEM: ("free_item",),
}


# A rush campaign's daily windows: local times of day (``campaigns.schedule``).
RUSH_WINDOW_FIELDS = (
    "reservation_opens",
    "reservation_closes",
    "rush_opens",
    "rush_closes",
)

# What staff set on a campaign, in the API's order: the admin's campaign form
# and the API's create serializer both take exactly these.
CAMPAIGN_EDITABLE_FIELDS = (
    "name",
    "slug",
    "kind",
    "description",
    "timezone",
    "starts_at",
    "ends_at",
    "status",
    *RUSH_WINDOW_FIELDS,
    "ratio",
)


class CampaignQuerySet(models.QuerySet):
    def active(self, now: dt.datetime | None = None):
        now = now or django_timezone.now()
        return self.filter(
            status=Campaign.Status.ACTIVE, starts_at__lte=now, ends_at__gt=now
        )


class Campaign(models.Model):
    """A coupon campaign of one kind, with its own time zone for "a day"."""

    class Kind(models.TextChoices):
        DRAW = "draw", _("Lucky draw")
        CLAIM = "claim", _("Claim and hold")
        RUSH = "rush", _("Flash-sale rush")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    timezone = models.CharField(
        _("timezone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    # Rush campaigns: each local day, a reservation window then a rush window.
    reservation_opens = models.TimeField(
        _("reservation opens"), default=dt.time(22, 55)
    )
    reservation_closes = models.TimeField(
        _("reservation closes"), default=dt.time(22, 59, 59)
    )
    rush_opens = models.TimeField(_("rush opens"), default=dt.time(23, 0))
    rush_closes = models.TimeField(_("rush closes"), default=dt.time(23, 0, 59))
    ratio = models.DecimalField(
        _("ratio"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.2"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Rush: coupons per reservation (0.2 = one per five)."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=django_timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")),
                name="campaign_starts_before_it_ends",
                violation_error_message=_("A campaign must start before it ends."),
            ),
            models.CheckConstraint(
                condition=Q(ratio__gte=0, ratio__lte=1), name="campaign_ratio_0_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def local_now(self, now: dt.datetime | None = None) -> dt.datetime:
        return (now or django_timezone.now()).astimezone(self.tz)

    def local_day(self, now: dt.datetime | None = None) -> dt.date:
        """Today's date where the campaign runs: every daily rule keys on it."""
        return self.local_now(now).date()

    def next_local_midnight(self, now: dt.datetime | None = None) -> dt.datetime:
        tomorrow = self.local_day(now) + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(0), tzinfo=self.tz)

    def seconds_to_local_midnight(self, now: dt.datetime | None = None) -> float:
        now = now or django_timezone.now()
        return (self.next_local_midnight(now) - now).total_seconds()

    def is_running(self, now: dt.datetime | None = None) -> bool:
        now = now or django_timezone.now()
        return (
            self.status == self.Status.ACTIVE and self.starts_at <= now < self.ends_at
        )


# A claimed coupon must be redeemed within its hold, and once redeemed it is
# used: no validity in days could ever apply to it.
CLAIM_VALID_DAYS_REFUSED = gettext_noop(
    "valid_days has no effect on a claim's coupons: the hold (hold_seconds) is "
    "their deadline. Leave it out (valid_until still ends the pool's coupons)."
)


# A hot type's quota may be spread over at most this many rows (``QuotaShard``).
MAX_QUOTA_SHARDS = 64


class CouponType(Benefit, RedemptionRules):
    """A prize category of a campaign, with its odds (draws) and quotas.

    Quota accounting lives on this row, as in seed 000: ``issued_total`` counts
    every coupon ever issued, ``issued_today`` those of local day ``quota_day``.
    One conditional UPDATE takes a unit of both and rolls the day over when
    ``quota_day`` is not today, so tomorrow needs no command to be right. The
    check constraints make "more than the quota" impossible in the database.

    A type drawn thousands of times a second can spread its counters over
    ``quota_shards`` rows (``QuotaShard``, ``campaigns.quotas``): then the
    shards hold them and this row's stay 0. With 1 (the default) this row is
    the counter, as always.
    """

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="coupon_types",
        verbose_name=_("campaign"),
    )
    name = models.CharField(_("name"), max_length=120)
    category = models.CharField(_("category"), max_length=60, blank=True)
    probability = models.DecimalField(
        _("probability"),
        max_digits=7,
        decimal_places=6,
        default=Decimal(0),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Draws: chance of winning this type (all types sum to at most 1)."),
    )
    total_quota = models.PositiveIntegerField(
        _("total quota"), null=True, blank=True, help_text=_("Empty for unlimited.")
    )
    daily_quota = models.PositiveIntegerField(
        _("daily quota"), null=True, blank=True, help_text=_("Empty for unlimited.")
    )
    valid_days = models.PositiveIntegerField(
        _("valid days"),
        default=30,
        validators=[MaxValueValidator(MAX_VALID_DAYS)],
        help_text=format_lazy(
            _("A coupon is valid this many days after it is issued (at most {most})."),
            most=f"{MAX_VALID_DAYS:,}",
        ),
    )
    valid_until = models.DateTimeField(
        _("valid until"),
        null=True,
        blank=True,
        help_text=_("…and never after this moment, if set."),
    )
    hold_seconds = models.PositiveIntegerField(
        _("hold seconds"),
        default=300,
        help_text=_("Claims: how long a claimed coupon is held."),
    )
    code_prefix = models.CharField(_("code prefix"), max_length=8, blank=True)
    code_length = models.PositiveSmallIntegerField(
        _("code length"),
        default=10,
        validators=[MinValueValidator(10), MaxValueValidator(20)],
        help_text=_("Random symbols per code (5 bits each; 10 = 50 bits)."),
    )
    quota_shards = models.PositiveSmallIntegerField(
        _("quota shards"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_QUOTA_SHARDS)],
        help_text=format_lazy(
            _(
                "Rows the quota counter is spread over (1 to {most}): more lets "
                "more draws of this type win at once; 1 suits all but the "
                "hottest types."
            ),
            most=MAX_QUOTA_SHARDS,
        ),
    )
    issued_total = models.PositiveIntegerField(
        _("issued in all"), default=0, editable=False
    )
    issued_today = models.PositiveIntegerField(
        _("issued today"), default=0, editable=False
    )
    quota_day = models.DateField(_("quota day"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("coupon type")
        verbose_name_plural = _("coupon types")
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "name"], name="coupon_type_name_unique"
            ),
            models.CheckConstraint(
                condition=Q(quota_shards__gte=1, quota_shards__lte=MAX_QUOTA_SHARDS),
                name="coupon_type_quota_shards_bounded",
                violation_error_message=format_lazy(
                    _("A quota is spread over 1 to {most} rows."),
                    most=MAX_QUOTA_SHARDS,
                ),
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=1),
                name="coupon_type_probability_0_1",
            ),
            models.CheckConstraint(
                condition=Q(valid_days__lte=MAX_VALID_DAYS),
                name="coupon_type_valid_days_bounded",
                violation_error_message=format_lazy(
                    _("A coupon may be valid {most} days at most."),
                    most=f"{MAX_VALID_DAYS:,}",
                ),
            ),
            models.CheckConstraint(
                condition=Q(total_quota__isnull=True)
                | Q(issued_total__lte=F("total_quota")),
                name="coupon_type_total_quota_kept",
                violation_error_message=_(
                    "The total quota cannot be below what was already issued."
                ),
            ),
            models.CheckConstraint(
                condition=Q(daily_quota__isnull=True)
                | Q(issued_today__lte=F("daily_quota")),
                name="coupon_type_daily_quota_kept",
                violation_error_message=_(
                    "The daily quota cannot be below what was issued today."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.campaign})"

    def issued_on(self, day: dt.date) -> int:
        """This row's count on ``day`` (a sharded type's is in its shards:
        ``campaigns.quotas.quota_issued``)."""
        return self.issued_today if self.quota_day == day else 0

    def left_on(self, day: dt.date) -> int | None:
        """Units still available on ``day`` (None: unlimited)."""
        lefts = []
        if self.daily_quota is not None:
            lefts.append(self.daily_quota - self.issued_on(day))
        if self.total_quota is not None:
            lefts.append(self.total_quota - self.issued_total)
        return max(0, min(lefts)) if lefts else None

    def expiry_from(self, issued_at: dt.datetime) -> dt.datetime:
        expires = issued_at + dt.timedelta(days=self.valid_days)
        if self.valid_until is not None:
            expires = min(expires, self.valid_until)
        return expires


class QuotaShard(models.Model):
    """One of the ``quota_shards`` rows a hot coupon type's quota is spread over.

    Each holds a share of the type's quotas and counts what it issued, as the
    type row does for an unsharded type (same day rollover). The shares sum to
    the type's quotas (``total_share`` to ``total_quota``, ``daily_share`` to
    ``daily_quota``; null: unlimited), so no shard over its share means the
    type is within its quotas; the check constraints make that hold in the
    database. Written only by ``campaigns.quotas``.
    """

    coupon_type = models.ForeignKey(
        CouponType, on_delete=models.CASCADE, related_name="quota_shard_rows"
    )
    slot = models.PositiveSmallIntegerField()
    total_share = models.PositiveIntegerField(null=True, blank=True)
    daily_share = models.PositiveIntegerField(null=True, blank=True)
    issued_total = models.PositiveIntegerField(default=0)
    issued_today = models.PositiveIntegerField(default=0)
    quota_day = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("quota shard")
        verbose_name_plural = _("quota shards")
        ordering = ["coupon_type", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon_type", "slot"], name="quota_shard_slot_unique"
            ),
            models.CheckConstraint(
                condition=Q(total_share__isnull=True)
                | Q(issued_total__lte=F("total_share")),
                name="quota_shard_total_share_kept",
            ),
            models.CheckConstraint(
                condition=Q(daily_share__isnull=True)
                | Q(issued_today__lte=F("daily_share")),
                name="quota_shard_daily_share_kept",
            ),
        ]

    def __str__(self) -> str:
        return f"Quota shard {self.slot} of coupon type {self.coupon_type_id}"
