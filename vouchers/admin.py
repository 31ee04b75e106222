from django.contrib import admin

from vouchers.codes import is_well_formed, normalize_code
from vouchers.models import VoucherEvent


@admin.register(VoucherEvent)
class VoucherEventAdmin(admin.ModelAdmin):
    """The append-only voucher history (releases, claims, redemptions, expiries…).

    Read-only: history is written by the services, never edited by hand.
    """

    list_display = [
        "created_at",
        "kind",
        "voucher",
        "campaign",
        "customer",
        "actor",
        "reason",
        "data",
    ]
    list_filter = ["kind", "campaign", "created_at"]
    list_select_related = ["voucher", "campaign", "customer", "actor"]
    search_fields = ["customer__phone", "customer__email", "actor__username"]
    search_help_text = "A voucher code (any case, dashes optional), a phone, an email."
    date_hierarchy = "created_at"
    show_full_result_count = False  # the history grows large; skip the extra COUNT
    list_per_page = 100

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        code = normalize_code(search_term)
        if is_well_formed(code):
            results |= queryset.filter(voucher__code=code)
        return results, may_have_duplicates

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
