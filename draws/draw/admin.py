from django.contrib import admin

from campaigns.admin_filters import CampaignLocalDayFilter, campaign_day
from couponsite.admin_csv import csv_export_action
from couponsite.admin_mixins import ReadOnlyAdminMixin
from draws.draw.models import Draw


@admin.register(Draw)
class DrawAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "customer",
        "campaign",
        campaign_day,
        "won",
        "coupon_type",
        "voucher",
        "created_at",
    ]
    list_filter = ["won", "campaign", CampaignLocalDayFilter]
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
                (
                    "code",
                    lambda d: str(d.voucher or ""),
                ),  # Voucher.__str__: the display code
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
