from django.contrib import admin
from django.utils import timezone

from draws.models import Claim, Draw
from vouchers.models import Voucher


@admin.register(Draw)
class DrawAdmin(admin.ModelAdmin):
    list_display = [
        "customer",
        "campaign",
        "day",
        "won",
        "coupon_type",
        "voucher",
        "created_at",
    ]
    list_filter = ["won", "campaign", "day"]
    search_fields = ["customer__phone", "customer__email", "voucher__code"]
    list_select_related = ["customer", "campaign", "coupon_type", "voucher"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "customer",
        "campaign",
        "day",
        "won",
        "coupon_type",
        "voucher",
        "roll",
        "odds",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Claim and hold (seed 002) ------------------------------------------------------


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    """Who claimed which coupon on which day, and whether the hold still runs."""

    list_display = [
        "created_at",
        "customer",
        "campaign",
        "day",
        "voucher",
        "held_until",
        "hold",
    ]
    list_filter = ["campaign", "day"]
    list_select_related = ["customer", "campaign", "voucher"]
    search_fields = ["customer__phone", "customer__email", "voucher__code"]
    date_hierarchy = "created_at"
    show_full_result_count = False

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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
