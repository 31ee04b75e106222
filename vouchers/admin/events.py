"""The vouchers' history, as a list, and its export."""

from django.contrib import admin

from couponsite.admin_csv import Column, CsvExport, CsvExportMixin, shown_if_set
from couponsite.admin_mixins import ReadOnlyAdminMixin
from couponsite.codes import display_code
from vouchers.admin.search import CodeSearchMixin
from vouchers.models import VoucherEvent


@admin.register(VoucherEvent)
class VoucherEventAdmin(
    CsvExportMixin, CodeSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    """The history; filter on kind "Redeemed" and export for the redemptions report."""

    csv_export = CsvExport(
        "voucher-events.csv",
        [
            Column("created_at", "created_at"),
            Column("kind", "kind"),
            Column("code", "voucher__code", shown_if_set(display_code)),
            Column("campaign", "campaign__slug"),
            Column("phone", "customer__phone"),
            Column("staff", "actor__username"),
            Column("order_ref", "data__order_ref"),
            Column("reason", "reason"),
        ],
    )
    actions = [csv_export.action()]

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
    search_fields = [
        "voucher__code",
        "customer__phone",
        "customer__email",
        "actor__username",
    ]
    list_select_related = ["voucher", "campaign", "customer", "actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the history grows large; skip the extra COUNT
    code_lookup = "voucher__code"
