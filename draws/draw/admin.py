from django.contrib import admin

from couponsite.admin_csv import csv_export_action
from couponsite.admin_mixins import ReadOnlyAdminMixin
from couponsite.codes import display_code
from draws.draw.models import Draw


def _code(voucher) -> str:
    return display_code(voucher.code) if voucher else ""


@admin.register(Draw)
class DrawAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
