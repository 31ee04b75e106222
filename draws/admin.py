from django.contrib import admin
from django.utils import timezone

from couponsite.admin_csv import csv_export_action
from draws.models import Claim, Draw
from vouchers.codes import display_code
from vouchers.models import Voucher


def _code(voucher) -> str:
    return display_code(voucher.code) if voucher else ""


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
    actions = [
        csv_export_action(
            "draws.csv",
            [
                ("created_at", lambda d: d.created_at.isoformat()),
                ("campaign", lambda d: d.campaign.slug),
                ("day", lambda d: d.day.isoformat()),
                ("phone", lambda d: d.customer.phone),
                ("won", lambda d: d.won),
                ("coupon_type", lambda d: d.coupon_type.name if d.won else ""),
                ("code", lambda d: _code(d.voucher)),
                ("roll", lambda d: d.roll),
            ],
            select_related=["campaign", "customer", "coupon_type", "voucher"],
        )
    ]
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
    actions = [
        csv_export_action(
            "claims.csv",
            [
                ("created_at", lambda c: c.created_at.isoformat()),
                ("campaign", lambda c: c.campaign.slug),
                ("day", lambda c: c.day.isoformat()),
                ("phone", lambda c: c.customer.phone),
                ("code", lambda c: _code(c.voucher)),
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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
