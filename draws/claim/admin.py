from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from campaigns.admin_filters import CampaignLocalDayFilter, campaign_day
from campaigns.models import Campaign, CouponType
from couponsite.admin_csv import csv_export_action
from couponsite.admin_mixins import ReadOnlyAdminMixin
from couponsite.errors import DomainError
from draws.claim.models import Claim
from draws.claim.releases import batch_release
from draws.pool import Release
from vouchers.models import Voucher


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who claimed which coupon on which day, and whether the hold still runs."""

    list_display = [
        "created_at",
        "customer",
        "campaign",
        campaign_day,
        "voucher",
        "held_until",
        "hold",
    ]
    list_filter = ["campaign", CampaignLocalDayFilter]
    list_select_related = ["customer", "campaign", "voucher"]
    search_fields = ["customer__phone", "customer__email", "voucher__code"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = [
        csv_export_action(
            "claims.csv",
            [
                ("created_at", lambda c: c.created_at.isoformat()),
                ("campaign", lambda c: c.campaign.slug),
                ("day", lambda c: c.day.isoformat()),
                ("phone", lambda c: c.customer.phone),
                ("code", lambda c: str(c.voucher)),  # Voucher.__str__: the display code
                ("held_until", lambda c: c.held_until.isoformat()),
                ("voucher_status", lambda c: c.voucher.status),
            ],
            select_related=["campaign", "customer", "voucher"],
        )
    ]

    @admin.display(description="Hold")
    def hold(self, claim: Claim) -> str:
        voucher = claim.voucher
        if (
            voucher.owner_id == claim.customer_id
            and voucher.status == Voucher.Status.REDEEMED
        ):
            return "redeemed"
        if claim.held_until > timezone.now():
            return "running"
        return "ran out"


# Releasing from the admin (claim and hold, seed 002): the add form calls
# ``batch_release``; a release once made is read-only history.
# Bigger batches go through `manage.py release_coupons` (chunked, with progress).
ADMIN_MAX_RELEASE = 100_000


class ReleaseForm(forms.ModelForm):
    count = forms.IntegerField(min_value=1, max_value=ADMIN_MAX_RELEASE, initial=10_000)

    class Meta:
        model = Release
        fields = ["coupon_type", "count", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "coupon_type" not in self.fields:
            return  # a release once made is read-only
        self.fields["coupon_type"].queryset = CouponType.objects.filter(
            campaign__kind=Campaign.Kind.CLAIM
        ).select_related("campaign")
        self.fields["coupon_type"].help_text = "A coupon type of a claim campaign."


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Employees release batches of coupons here (up to ADMIN_MAX_RELEASE at once);
    a release once made is only shown."""

    allow_add = True  # through batch_release (save_model)

    form = ReleaseForm
    list_display = ["created_at", "coupon_type", "campaign", "count", "released_by"]
    list_filter = ["coupon_type__campaign", "created_at"]
    list_select_related = ["coupon_type__campaign", "released_by"]
    search_fields = ["coupon_type__name", "coupon_type__campaign__name", "note"]
    date_hierarchy = "created_at"
    actions = ["release_again"]

    @admin.display(ordering="coupon_type__campaign")
    def campaign(self, release: Release) -> Campaign:
        return release.coupon_type.campaign

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["coupon_type", "count", "note", "released_by", "created_at"]
        return []

    def get_fields(self, request, obj=None):
        if obj is not None:
            return ["coupon_type", "count", "note", "released_by", "created_at"]
        return ["coupon_type", "count", "note"]

    def save_model(self, request, obj, form, change):
        release = batch_release(
            coupon_type=form.cleaned_data["coupon_type"],
            count=form.cleaned_data["count"],
            note=form.cleaned_data["note"],
            acting_user=request.user,
        )
        obj.pk, obj.created_at, obj.released_by = (
            release.pk,
            release.created_at,
            release.released_by,
        )

    @admin.action(
        description="Release the same batch again (same type and count)",
        permissions=["add"],
    )
    def release_again(self, request, queryset):
        for release in queryset.select_related("coupon_type__campaign"):
            try:
                batch_release(
                    coupon_type=release.coupon_type,
                    count=release.count,
                    note=release.note,
                    acting_user=request.user,
                )
            except DomainError as exc:
                self.message_user(
                    request, f"{release.coupon_type}: {exc.detail}", messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    f"Released {release.count} more coupons of {release.coupon_type}.",
                )
