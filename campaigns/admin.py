from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from campaigns.models import Campaign, CouponType, Release


class CouponTypeFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        total = sum(data.get("probability") or 0 for data in kept)
        if total > 1:
            raise ValidationError(
                f"Probabilities add up to {total}; they may add up to 1 at most."
            )


class CouponTypeInline(admin.StackedInline):
    model = CouponType
    formset = CouponTypeFormSet
    extra = 0
    fieldsets = [
        (None, {"fields": [("name", "category")]}),
        (
            "Benefit",
            {
                "fields": [
                    "benefit_kind",
                    ("amount", "currency"),
                    "percent",
                    "free_item",
                ]
            },
        ),
        (
            "Odds and quotas",
            {"fields": ["probability", ("total_quota", "daily_quota"), "hold_seconds"]},
        ),
        (
            "Coupons",
            {"fields": [("valid_days", "valid_until"), ("code_prefix", "code_length")]},
        ),
        (
            "Accounting (read-only)",
            {"fields": [("issued_total", "issued_today", "quota_day")]},
        ),
    ]
    readonly_fields = ["issued_total", "issued_today", "quota_day"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "kind",
        "status",
        "timezone",
        "starts_at",
        "ends_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "starts_at"
    inlines = [CouponTypeInline]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "status", "description"]}),
        ("When", {"fields": ["timezone", ("starts_at", "ends_at")]}),
        (
            "Rush windows (local times, rush campaigns only)",
            {
                "classes": ["collapse"],
                "fields": [
                    ("reservation_opens", "reservation_closes"),
                    ("rush_opens", "rush_closes"),
                    "ratio",
                ],
            },
        ),
        ("Audit", {"fields": [("created_by", "created_at", "updated_at")]}),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["coupon_type", "count", "released_by", "created_at"]
    list_filter = ["coupon_type__campaign"]
    list_select_related = ["coupon_type__campaign", "released_by"]
    readonly_fields = ["coupon_type", "count", "released_by", "note", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False
