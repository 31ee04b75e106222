from django.contrib import admin

from draws.models import Draw


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
