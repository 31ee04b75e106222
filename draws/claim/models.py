from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CouponType
from customers.models import Customer
from draws.pool import Release
from vouchers.models import Voucher


class Claim(models.Model):
    """One customer's claim in a claim campaign on one local day (seed 002).

    The unique constraint on (customer, campaign, day) is the once-a-day rule.
    ``held_until`` keeps the end of the hold granted, so the history says who
    held which coupon when: two claims of one coupon never overlap in time.
    """

    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="claims",
        verbose_name=_("customer"),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        related_name="claims",
        verbose_name=_("campaign"),
    )
    day = models.DateField(
        _("day"), help_text=_("The campaign's local date of the claim.")
    )
    voucher = models.ForeignKey(
        Voucher,
        on_delete=models.PROTECT,
        related_name="claims",
        verbose_name=_("voucher"),
    )
    held_until = models.DateTimeField(
        _("held until"), help_text=_("When the hold granted runs out.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
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
        return _("%(customer)s on %(day)s: %(voucher)s") % {
            "customer": self.customer,
            "day": self.day,
            "voucher": self.voucher,
        }


def _local_today_utc():
    # The form's default; the admin shows the campaign's own day in its help.
    return timezone.localdate()


# A scheduled release puts at most this many coupons in at once (the admin's
# bound on a manual release; bigger batches go through `manage.py release_coupons`).
SCHEDULE_MAX_COUNT = 100_000


class ReleaseSchedule(models.Model):
    """Release ``count`` coupons of a type every local day at ``at`` (issue 13).

    ``at`` is a wall-clock time in the campaign's zone; the days run from
    ``starts_on`` to ``ends_on`` (no end: until the campaign ends). Each day's
    run is a ``ReleaseScheduleRun`` (``draws.claim.scheduled_releases``).
    """

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="release_schedules",
        verbose_name=_("campaign"),
    )
    coupon_type = models.ForeignKey(
        CouponType,
        on_delete=models.CASCADE,
        related_name="release_schedules",
        verbose_name=_("coupon type"),
    )
    count = models.PositiveIntegerField(
        _("count"),
        validators=[MinValueValidator(1), MaxValueValidator(SCHEDULE_MAX_COUNT)],
        help_text=format_lazy(
            _("Coupons released each day (1 to {most})."),
            most=f"{SCHEDULE_MAX_COUNT:,}",
        ),
    )
    at = models.TimeField(
        _("local time"),
        help_text=_(
            "HH:MM in the campaign's time zone. A time a clock change skips "
            "releases when the clock jumps past it; a time it repeats, once."
        ),
    )
    starts_on = models.DateField(
        _("starts on"),
        default=_local_today_utc,
        help_text=_(
            "The first local day. A schedule saved after that day's time first "
            "releases on the next day."
        ),
    )
    ends_on = models.DateField(
        _("ends on"),
        null=True,
        blank=True,
        help_text=_("The last local day (included); blank: until the campaign ends."),
    )
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Untick to stop the releases without deleting."),
    )
    note = models.CharField(
        _("note"),
        max_length=200,
        blank=True,
        help_text=_("Recorded with each release."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("release schedule")
        verbose_name_plural = _("release schedules")
        ordering = ["campaign", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(count__gte=1, count__lte=SCHEDULE_MAX_COUNT),
                name="release_schedule_count_in_bounds",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="release_schedule_ends_after_it_starts",
                violation_error_message=_("The last day cannot be before the first."),
            ),
        ]

    def __str__(self) -> str:
        return _("%(count)s x %(coupon_type)s daily at %(at)s") % {
            "count": self.count,
            "coupon_type": self.coupon_type.name,
            "at": f"{self.at:%H:%M}",
        }

    def clean(self) -> None:
        errors = {}
        campaign = self.campaign if self.campaign_id else None
        if campaign is not None and campaign.kind != Campaign.Kind.CLAIM:
            errors["campaign"] = _("Coupons are released into claim campaigns only.")
        if (
            campaign is not None
            and self.coupon_type_id
            and self.coupon_type.campaign_id != campaign.pk
        ):
            errors["coupon_type"] = _("This coupon type is not one of the campaign's.")
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The last day cannot be before the first.")
        if errors:
            raise ValidationError(errors)


class ReleaseScheduleRun(models.Model):
    """One local day's run of a schedule, written in the release's transaction.

    The unique (schedule, local_day) makes it once a day whoever runs it:
    restarts, a clock change or two schedulers racing leave one run.
    """

    schedule = models.ForeignKey(
        ReleaseSchedule,
        on_delete=models.PROTECT,
        related_name="runs",
        verbose_name=_("schedule"),
    )
    local_day = models.DateField(
        _("local day"), help_text=_("The campaign's local day it ran for.")
    )
    release = models.OneToOneField(
        Release,
        on_delete=models.PROTECT,
        related_name="schedule_run",
        verbose_name=_("release"),
    )
    due_at = models.DateTimeField(
        _("due at"), help_text=_("When that day's local time came.")
    )
    ran_at = models.DateTimeField(_("ran at"), default=timezone.now)

    class Meta:
        verbose_name = _("release schedule run")
        verbose_name_plural = _("release schedule runs")
        ordering = ["-local_day", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "local_day"],
                name="release_schedule_once_per_day",
            ),
        ]

    def __str__(self) -> str:
        return _("%(schedule)s on %(day)s") % {
            "schedule": self.schedule,
            "day": self.local_day,
        }
