from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from campaigns.admin_filters import CampaignLocalDayFilter, campaign_day
from campaigns.models import Campaign, CouponType
from couponsite.admin_csv import Column, CsvExport, CsvExportMixin
from couponsite.admin_mixins import ReadOnlyAdminMixin
from couponsite.codes import display_code
from couponsite.errors import DomainError
from customers.admin import CustomerAdmin
from customers.admin_story import StoryPanel, admin_link
from draws.claim.models import Claim
from draws.claim.releases import batch_release
from draws.pool import Release
from vouchers.models import Voucher


@admin.register(Claim)
class ClaimAdmin(CsvExportMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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
    csv_export = CsvExport(
        "claims.csv",
        [
            Column("created_at", "created_at"),
            Column("campaign", "campaign__slug"),
            Column("day", "day"),
            Column("phone", "customer__phone"),
            Column("code", "voucher__code", display_code),
            Column("held_until", "held_until"),
            Column("voucher_status", "voucher__status"),
        ],
    )
    actions = [csv_export.action()]

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


CustomerAdmin.add_story_panel(
    StoryPanel(
        title="Claims",
        model=Claim,
        lookups=lambda customer: {"customer__id__exact": customer.pk},
        columns=[
            ("day", lambda claim: claim.day),
            ("campaign", lambda claim: claim.campaign),
            ("voucher", lambda claim: admin_link(claim.voucher)),
            ("held until", lambda claim: claim.held_until),
            ("claimed at", lambda claim: claim.created_at),
        ],
        position=30,
        select_related=["campaign", "voucher"],
    )
)
