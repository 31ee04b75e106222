from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from campaigns.admin import CampaignAdmin
from campaigns.admin_filters import CampaignLocalDayFilter, campaign_day
from campaigns.models import Campaign, CouponType
from couponsite.admin_csv import Column, CsvExport, CsvExportMixin
from couponsite.admin_mixins import AuditedAdminMixin, ReadOnlyAdminMixin
from couponsite.codes import display_code
from couponsite.errors import DomainError
from customers.admin import CustomerAdmin
from customers.admin_story import StoryPanel, admin_link
from draws.claim.models import Claim, ReleaseSchedule, ReleaseScheduleRun
from draws.claim.releases import batch_release
from draws.claim.scheduled_releases import schedule_next_run
from draws.pool import Release
from vouchers.models import Voucher


@admin.register(Claim)
class ClaimAdmin(CsvExportMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who claimed which coupon on which day, and whether the hold still runs."""

    list_display = [
        "created_at",
        "customer",
        "campaign",
        campaign_day,
        "voucher",
        "held_until",
        "hold",
    ]
    list_filter = ["campaign", CampaignLocalDayFilter]
    list_select_related = ["customer", "campaign", "voucher"]
    search_fields = ["customer__phone", "customer__email", "voucher__code"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    csv_export = CsvExport(
        "claims.csv",
        [
            Column("created_at", "created_at"),
            Column("campaign", "campaign__slug"),
            Column("day", "day"),
            Column("phone", "customer__phone"),
            Column("code", "voucher__code", display_code),
            Column("held_until", "held_until"),
            Column("voucher_status", "voucher__status"),
        ],
    )
    actions = [csv_export.action()]

    @admin.display(description=_("Hold"))
    def hold(self, claim: Claim) -> str:
        voucher = claim.voucher
        if (
            voucher.owner_id == claim.customer_id
            and voucher.status == Voucher.Status.REDEEMED
        ):
            return gettext("redeemed")
        if claim.held_until > timezone.now():
            return gettext("running")
        return gettext("ran out")


# Releasing from the admin (claim and hold, seed 002): the add form calls
# ``batch_release``; a release once made is read-only history.
# Bigger batches go through `manage.py release_coupons` (chunked, with progress).
ADMIN_MAX_RELEASE = 100_000


class ReleaseForm(forms.ModelForm):
    count = forms.IntegerField(
        label=_("Count"), min_value=1, max_value=ADMIN_MAX_RELEASE, initial=10_000
    )

    class Meta:
        model = Release
        fields = ["coupon_type", "count", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "coupon_type" not in self.fields:
            return  # a release once made is read-only
        self.fields["coupon_type"].queryset = CouponType.objects.filter(
            campaign__kind=Campaign.Kind.CLAIM
        ).select_related("campaign")
        self.fields["coupon_type"].help_text = _("A coupon type of a claim campaign.")


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Employees release batches of coupons here (up to ADMIN_MAX_RELEASE at once);
    a release once made is only shown."""

    allow_add = True  # through batch_release (save_model)

    form = ReleaseForm
    list_display = ["created_at", "coupon_type", "campaign", "count", "released_by"]
    list_filter = ["coupon_type__campaign", "created_at"]
    list_select_related = ["coupon_type__campaign", "released_by"]
    search_fields = ["coupon_type__name", "coupon_type__campaign__name", "note"]
    date_hierarchy = "created_at"
    actions = ["release_again"]

    @admin.display(description=_("campaign"), ordering="coupon_type__campaign")
    def campaign(self, release: Release) -> Campaign:
        return release.coupon_type.campaign

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["coupon_type", "count", "note", "released_by", "created_at"]
        return []

    def get_fields(self, request, obj=None):
        if obj is not None:
            return ["coupon_type", "count", "note", "released_by", "created_at"]
        return ["coupon_type", "count", "note"]

    def save_model(self, request, obj, form, change):
        release = batch_release(
            coupon_type=form.cleaned_data["coupon_type"],
            count=form.cleaned_data["count"],
            note=form.cleaned_data["note"],
            acting_user=request.user,
        )
        obj.pk, obj.created_at, obj.released_by = (
            release.pk,
            release.created_at,
            release.released_by,
        )

    @admin.action(
        description=_("Release the same batch again (same type and count)"),
        permissions=["add"],
    )
    def release_again(self, request, queryset):
        for release in queryset.select_related("coupon_type__campaign"):
            try:
                batch_release(
                    coupon_type=release.coupon_type,
                    count=release.count,
                    note=release.note,
                    acting_user=request.user,
                )
            except DomainError as exc:
                self.message_user(
                    request, f"{release.coupon_type}: {exc.detail}", messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    ngettext(
                        "Released %(count)s more coupon of %(coupon_type)s.",
                        "Released %(count)s more coupons of %(coupon_type)s.",
                        release.count,
                    )
                    % {"count": release.count, "coupon_type": release.coupon_type},
                )


# Scheduled releases (issue 13): the same permission as the release button
# (``draws.add_release``) sets them; whoever may read releases may read them.
RELEASE_PERMISSION = "draws.add_release"


class ReleasePermissionMixin:
    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(RELEASE_PERMISSION) or request.user.has_perm(
            "draws.view_release"
        )


class ReleaseScheduleForm(forms.ModelForm):
    class Meta:
        model = ReleaseSchedule
        fields = [
            "campaign",
            "coupon_type",
            "count",
            "at",
            "starts_on",
            "ends_on",
            "active",
            "note",
        ]
        widgets = {"at": forms.TimeInput(format="%H:%M")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.filter(
            kind=Campaign.Kind.CLAIM
        )
        self.fields["coupon_type"].queryset = CouponType.objects.filter(
            campaign__kind=Campaign.Kind.CLAIM
        ).select_related("campaign")
        self.fields["coupon_type"].help_text = _("A coupon type of that campaign.")

    def clean_at(self):
        return self.cleaned_data["at"].replace(second=0, microsecond=0)


class ReleaseScheduleRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReleaseScheduleRun
    extra = 0
    fields = ["local_day", "due_at", "ran_at", "release_link"]
    readonly_fields = fields
    ordering = ["-local_day"]

    def has_view_permission(self, request, obj=None) -> bool:
        return True  # shown on a schedule's page, to whoever may see that

    @admin.display(description=_("Release"))
    def release_link(self, run: ReleaseScheduleRun) -> str:
        return admin_link(run.release)


def next_run_local(schedule: ReleaseSchedule) -> str:
    now = timezone.now()
    day = schedule.campaign.local_day(now)
    ran_today = schedule.runs.filter(local_day=day).exists()
    due = schedule_next_run(schedule, now=now, ran_today=ran_today)
    if due is None:
        return gettext("none")
    at = f"{due:%Y-%m-%d %H:%M} {schedule.campaign.timezone}"
    if due <= now:
        return gettext("%(at)s (due: releasing now)") % {"at": at}
    return at


@admin.register(ReleaseSchedule)
class ReleaseScheduleAdmin(ReleasePermissionMixin, AuditedAdminMixin, admin.ModelAdmin):
    """Daily releases without the button: each schedule releases its count at
    its local time on each of its days (``draws.claim.scheduled_releases``).
    Recorded in the audit log (``release_schedule.created/changed/deleted``)
    and the page's history; a schedule that has run is stopped by unticking
    "active" (its runs keep it)."""

    audit_noun = "release_schedule"
    form = ReleaseScheduleForm
    list_display = [
        "campaign",
        "coupon_type",
        "count",
        "at",
        "starts_on",
        "ends_on",
        "active",
        "next_run",
        "created_by",
    ]
    list_filter = ["active", "campaign"]
    list_select_related = ["campaign", "coupon_type", "created_by"]
    search_fields = ["campaign__name", "coupon_type__name", "note"]
    readonly_fields = ["next_run", "created_by", "created_at", "updated_at"]
    inlines = [ReleaseScheduleRunInline]

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(RELEASE_PERMISSION)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(RELEASE_PERMISSION)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(RELEASE_PERMISSION)

    def get_fields(self, request, obj=None):
        fields = [*ReleaseScheduleForm.Meta.fields]
        return fields if obj is None else [*fields, *self.readonly_fields]

    @admin.display(description=_("Next release"))
    def next_run(self, schedule: ReleaseSchedule) -> str:
        return next_run_local(schedule)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ReleaseScheduleInline(
    ReleasePermissionMixin, ReadOnlyAdminMixin, admin.TabularInline
):
    """A claim campaign's schedules on its page (edited on their own page)."""

    model = ReleaseSchedule
    extra = 0
    show_change_link = True
    fields = [
        "coupon_type",
        "count",
        "at",
        "starts_on",
        "ends_on",
        "active",
        "next_run",
    ]
    readonly_fields = fields
    verbose_name_plural = _("Release schedules (add one from the dashboard's link)")

    @admin.display(description=_("Next release"))
    def next_run(self, schedule: ReleaseSchedule) -> str:
        return next_run_local(schedule)


CampaignAdmin.add_kind_inline(Campaign.Kind.CLAIM, ReleaseScheduleInline)


CustomerAdmin.add_story_panel(
    StoryPanel(
        title=_("Claims"),
        model=Claim,
        lookups=lambda customer: {"customer__id__exact": customer.pk},
        columns=[
            (_("day"), lambda claim: claim.day),
            (_("campaign"), lambda claim: claim.campaign),
            (_("voucher"), lambda claim: admin_link(claim.voucher)),
            (_("held until"), lambda claim: claim.held_until),
            (_("claimed at"), lambda claim: claim.created_at),
        ],
        position=30,
        select_related=["campaign", "voucher"],
    )
)
