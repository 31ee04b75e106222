from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.admin import CampaignAdmin
from campaigns.admin_filters import CampaignLocalDayFilter, campaign_day
from campaigns.models import Campaign
from couponsite.admin_csv import Column, CsvExport, CsvExportMixin
from couponsite.admin_mixins import ReadOnlyAdminMixin
from couponsite.codes import display_code
from couponsite.redis_client import REDIS_ERRORS
from customers.admin import CustomerAdmin
from customers.admin_story import StoryPanel, admin_link
from draws.rush.figures import coupons_left, with_grab_figures
from draws.rush.figures import sold_out_at as day_sold_out_at
from draws.rush.models import Grab, Reservation, RushDay
from draws.rush.services import ReservationsStillOpen, rush_warm


class RushFigures:
    """Per-day columns shared by the changelist and the campaign inline."""

    @admin.display(description=_("grabs"), ordering="grab_count")
    def grabs(self, rush_day: RushDay) -> int:
        return rush_day.grab_count

    @admin.display(description=_("left"))
    def left(self, rush_day: RushDay) -> int:
        return coupons_left(rush_day)

    @admin.display(description=_("sold out at"))
    def sold_out_at(self, rush_day: RushDay):
        """When the last coupon went; empty while any is left."""
        return day_sold_out_at(rush_day)

    @admin.display(description=_("ratio"))
    def ratio_display(self, rush_day: RushDay) -> str:
        return f"{rush_day.ratio:.2%}"


@admin.register(RushDay)
class RushDayAdmin(RushFigures, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each day of each rush: reservations, coupons, grabs and when it sold out."""

    list_display = [
        "day",
        "campaign",
        "reservations",
        "coupons",
        "grabs",
        "left",
        "sold_out_at",
        "ratio_display",
    ]
    list_filter = ["campaign"]
    date_hierarchy = "day"
    readonly_fields = [
        "campaign",
        "day",
        "release",
        "coupons_per_10000",
        "reservations",
        "coupons",
        "grabs",
        "left",
        "sold_out_at",
        "reservations_closed_at",
        "created_at",
    ]
    fields = readonly_fields
    actions = ["reload_into_redis"]

    def get_queryset(self, request):
        return with_grab_figures(super().get_queryset(request))

    def has_reload_permission(self, request) -> bool:
        """Rebuilding Redis is running the campaign: its managers'."""
        return request.user.has_perm("campaigns.change_campaign")

    @admin.action(
        description=_("Rebuild the selected days' rush state in Redis"),
        permissions=["reload"],
    )
    def reload_into_redis(self, request, queryset):
        for rush_day in queryset:
            try:
                result = rush_warm(
                    campaign=rush_day.campaign, day=rush_day.day, replace=True
                )
            except ReservationsStillOpen as exc:
                self.message_user(request, f"{rush_day}: {exc.detail}", messages.ERROR)
                continue
            except REDIS_ERRORS as exc:
                self.message_user(request, f"Redis: {exc}", messages.ERROR)
                return
            if result is None:
                self.message_user(
                    request, gettext("No Redis configured."), messages.WARNING
                )
                return
            self.message_user(
                request,
                gettext(
                    "%(day)s: %(reserved)s reservations, %(received)s grabs and "
                    "%(stock)s free coupons loaded."
                )
                % {
                    "day": rush_day,
                    "reserved": result.reserved,
                    "received": result.received,
                    "stock": result.stock,
                },
            )


class RushDayInline(RushFigures, ReadOnlyAdminMixin, admin.TabularInline):
    """For the campaign page of a rush: one row per day (registered below)."""

    model = RushDay
    extra = 0
    show_change_link = True
    fields = [
        "day",
        "reservations",
        "coupons",
        "grabs",
        "left",
        "sold_out_at",
        "ratio_display",
    ]
    readonly_fields = fields
    ordering = ["-day"]

    def get_queryset(self, request):
        return with_grab_figures(super().get_queryset(request))


CampaignAdmin.add_kind_inline(Campaign.Kind.RUSH, RushDayInline)


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [campaign_day, "campaign", "number", "customer", "created_at"]
    list_filter = ["campaign", CampaignLocalDayFilter]
    search_fields = ["customer__phone", "customer__email"]
    list_select_related = ["campaign", "customer"]
    readonly_fields = [
        "rush_day",
        "campaign",
        "customer",
        "day",
        "number",
        "created_at",
    ]


@admin.register(Grab)
class GrabAdmin(CsvExportMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "campaign",
        campaign_day,
        "customer",
        "voucher",
        "via",
    ]
    list_filter = ["campaign", CampaignLocalDayFilter, "via"]
    search_fields = ["customer__phone", "customer__email", "voucher__code"]
    list_select_related = ["campaign", "customer", "voucher"]
    csv_export = CsvExport(
        "grabs.csv",
        [
            Column("created_at", "created_at"),
            Column("campaign", "campaign__slug"),
            Column("day", "day"),
            Column("phone", "customer__phone"),
            Column("reservation_number", "reservation__number"),
            Column("code", "voucher__code", display_code),
            Column("via", "via"),
        ],
    )
    actions = [csv_export.action()]
    readonly_fields = [
        "reservation",
        "campaign",
        "customer",
        "day",
        "voucher",
        "via",
        "created_at",
    ]


CustomerAdmin.add_story_panel(
    StoryPanel(
        title=_("Reservations"),
        model=Reservation,
        lookups=lambda customer: {"customer__id__exact": customer.pk},
        columns=[
            (_("day"), lambda reservation: reservation.day),
            (_("campaign"), lambda reservation: reservation.campaign),
            (_("number"), lambda reservation: reservation.number),
            (_("reserved at"), lambda reservation: reservation.created_at),
        ],
        position=40,
        select_related=["campaign"],
    )
)
CustomerAdmin.add_story_panel(
    StoryPanel(
        title=_("Grabs"),
        model=Grab,
        lookups=lambda customer: {"customer__id__exact": customer.pk},
        columns=[
            (_("day"), lambda grab: grab.day),
            (_("campaign"), lambda grab: grab.campaign),
            (_("voucher"), lambda grab: admin_link(grab.voucher)),
            (_("via"), lambda grab: grab.get_via_display()),
            (_("grabbed at"), lambda grab: grab.created_at),
        ],
        position=50,
        select_related=["campaign", "voucher"],
    )
)
