from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns.models import CLAIM_VALID_DAYS_REFUSED, Campaign, CouponType, Release
from campaigns.schedule import RushWindows
from campaigns.selectors import campaign_figures
from couponsite.api.exceptions import DomainError


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
        if self.instance.kind == Campaign.Kind.CLAIM:
            for form in self.forms:
                if form.cleaned_data and "valid_days" in form.changed_data:
                    form.add_error("valid_days", CLAIM_VALID_DAYS_REFUSED)


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
    ]
    # Issued and left per type are in the campaign's live figures (one source,
    # the coupons); the quota counters on the row are the draw's enforcement.


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "slug",
            "kind",
            "status",
            "description",
            "timezone",
            "starts_at",
            "ends_at",
            "reservation_opens",
            "reservation_closes",
            "rush_opens",
            "rush_closes",
            "ratio",
        ]

    def clean_ends_at(self):
        """A new or moved end must lie ahead; an ended campaign stays editable."""
        ends_at = self.cleaned_data["ends_at"]
        moved = self.instance._state.adding or "ends_at" in self.changed_data
        if moved and ends_at is not None and ends_at <= timezone.now():
            raise ValidationError("A campaign must end in the future.")
        return ends_at

    def clean(self):
        cleaned = super().clean()
        times = ["reservation_opens", "reservation_closes", "rush_opens", "rush_closes"]
        if cleaned.get("kind") == Campaign.Kind.RUSH and all(
            cleaned.get(t) for t in times
        ):
            windows = RushWindows(**{t: cleaned[t] for t in times})
            for field, message in windows.errors().items():
                self.add_error(field, message)
        return cleaned


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
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
    readonly_fields = ["created_by", "created_at", "updated_at", "live_figures"]
    fieldsets = [
        ("Live figures", {"fields": ["live_figures"]}),
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

    def get_inline_instances(self, request, obj=None):
        """Rush campaigns also list their days (reservations, coupons, grabs)."""
        from draws.admin import RushDayInline

        inlines = super().get_inline_instances(request, obj)
        if obj is not None and obj.kind == Campaign.Kind.RUSH:
            inlines.append(RushDayInline(self.model, self.admin_site))
        return inlines

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else fieldsets[1:]

    @admin.display(description="Today (the campaign's local day)")
    def live_figures(self, campaign: Campaign) -> str:
        figures = campaign_figures(campaign)
        types = []
        for row in figures["coupon_types"]:
            limit = (
                None
                if row["left_today"] is None
                else row["issued_today"] + row["left_today"]
            )
            share = round(100 * row["issued_today"] / limit) if limit else None
            types.append({**row, "share": share, "bar": 3 * (share or 0)})
        return render_to_string(
            "admin/campaigns/figures.html", {"f": figures, "types": types}
        )


# Releasing from the admin (claim and hold, seed 002): the add form calls
# ``batch_release``; a release once made is read-only history.
# Bigger batches go through `manage.py release_coupons` (chunked, with progress).
ADMIN_MAX_RELEASE = 100_000


class ReleaseForm(forms.ModelForm):
    count = forms.IntegerField(min_value=1, max_value=ADMIN_MAX_RELEASE, initial=10_000)

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
        self.fields["coupon_type"].help_text = "A coupon type of a claim campaign."


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    """Employees release batches of coupons here (up to ADMIN_MAX_RELEASE at once)."""

    form = ReleaseForm
    list_display = ["created_at", "coupon_type", "campaign", "count", "released_by"]
    list_filter = ["coupon_type__campaign", "created_at"]
    list_select_related = ["coupon_type__campaign", "released_by"]
    search_fields = ["coupon_type__name", "coupon_type__campaign__name", "note"]
    date_hierarchy = "created_at"
    actions = ["release_again"]

    @admin.display(ordering="coupon_type__campaign")
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

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        from draws.services.claim import batch_release

        if change:
            return
        release = batch_release(
            coupon_type=form.cleaned_data["coupon_type"],
            count=form.cleaned_data["count"],
            note=form.cleaned_data["note"],
            released_by=request.user,
        )
        obj.pk, obj.created_at, obj.released_by = (
            release.pk,
            release.created_at,
            release.released_by,
        )

    @admin.action(description="Release the same batch again (same type and count)")
    def release_again(self, request, queryset):
        from draws.services.claim import batch_release

        for release in queryset.select_related("coupon_type__campaign"):
            try:
                batch_release(
                    coupon_type=release.coupon_type,
                    count=release.count,
                    note=release.note,
                    released_by=request.user,
                )
            except DomainError as exc:
                self.message_user(
                    request, f"{release.coupon_type}: {exc.detail}", messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    f"Released {release.count} more coupons of {release.coupon_type}.",
                )
