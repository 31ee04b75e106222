from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.admin_filters import CampaignLocalDayFilter, campaign_day
from couponsite.admin_csv import Column, CsvExport, CsvExportMixin, shown_if_set
from couponsite.admin_mixins import ReadOnlyAdminMixin
from couponsite.codes import display_code
from customers.admin import CustomerAdmin
from customers.admin_story import StoryPanel, admin_link
from draws.draw.models import Draw


@admin.register(Draw)
class DrawAdmin(CsvExportMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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
    csv_export = CsvExport(
        "draws.csv",
        [
            Column("created_at", "created_at"),
            Column("campaign", "campaign__slug"),
            Column("day", "day"),
            Column("phone", "customer__phone"),
            Column("won", "won"),
            Column("coupon_type", "coupon_type__name"),
            Column("code", "voucher__code", shown_if_set(display_code)),
            Column("roll", "roll"),
        ],
    )
    actions = [csv_export.action()]
    readonly_fields = [
        "customer",
        "campaign",
        "day",
        "won",
        "coupon_type",
        "voucher",
        "roll",
        "from_seed",
        "odds",
        "created_at",
    ]


CustomerAdmin.add_story_panel(
    StoryPanel(
        title=_("Draws"),
        model=Draw,
        lookups=lambda customer: {"customer__id__exact": customer.pk},
        columns=[
            (_("day"), lambda draw: draw.day),
            (_("campaign"), lambda draw: draw.campaign),
            (
                _("won"),
                lambda draw: draw.coupon_type if draw.won else gettext("no"),
            ),
            (_("voucher"), lambda draw: admin_link(draw.voucher)),
            (_("drawn at"), lambda draw: draw.created_at),
        ],
        position=20,
        select_related=["campaign", "coupon_type", "voucher"],
    )
)
