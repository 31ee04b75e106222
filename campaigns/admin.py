from functools import partial

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns import services
from campaigns.dashboard import URL_NAME as DASHBOARD_URL_NAME
from campaigns.dashboard import dashboard_view, dashboard_with_assets
from campaigns.models import CAMPAIGN_EDITABLE_FIELDS, Campaign, CouponType
from campaigns.quotas import quota_issued
from campaigns.rules import (
    CAMPAIGN_KIND_FIELDS,
    CHECKED_FIELDS,
    COUPON_TYPE_KIND_FIELDS,
    campaign_validate,
    kind_fields,
)
from campaigns.services import QUOTA_FIELDS
from couponsite.admin_actions import reason_action
from couponsite.audit import audited_fields
from couponsite.codes import normalize_prefix


def fieldsets_of_kind(fieldsets, kind: str | None, by_kind) -> list:
    """``fieldsets`` with the fields only other kinds read left out (``by_kind``,
    ``campaigns.rules``), and the fieldsets that leaves empty; all of them when
    no kind is known."""
    if kind is None:
        return fieldsets
    names = flatten_fieldsets(fieldsets)
    keep = set(kind_fields(kind, names, by_kind))
    kept = []
    for title, options in fieldsets:
        lines = []
        for line in options["fields"]:
            if isinstance(line, (list, tuple)):
                line = tuple(name for name in line if name in keep)
                if line:
                    lines.append(line if len(line) > 1 else line[0])
            elif line in keep:
                lines.append(line)
        if lines:
            kept.append((title, {**options, "fields": lines}))
    return kept


class CouponTypeFormSet(BaseInlineFormSet):
    """A campaign's coupon types, checked together by the campaign rules.

    The admin validates the campaign form before its inlines, so ``self.instance``
    already holds the form's values: its kind is the one being saved.
    """

    def clean(self):
        errors = campaign_validate(
            kind=self.instance.kind, coupon_types=self.coupon_types_saved()
        )
        messages = [message for field in errors.values() for message in field]
        try:
            super().clean()  # names unique within the campaign, as Django words it
        except ValidationError as exc:
            messages = [*exc.messages, *messages]
        if messages:
            raise ValidationError(messages)

    def coupon_types_saved(self) -> list[dict]:
        """The campaign's coupon types as this save leaves them, in the rules'
        terms: ``valid_days`` only where staff changed it."""
        in_forms = {form.instance.pk for form in self.initial_forms}
        types = [
            {"name": coupon_type.name, "probability": coupon_type.probability}
            for coupon_type in self.get_queryset()
            if coupon_type.pk not in in_forms
        ]
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            values = {"name": data.get("name"), "probability": data.get("probability")}
            if "valid_days" in form.changed_data:
                values["valid_days"] = data.get("valid_days")
            types.append(values)
        return types


# The "Redemption rules" fieldset, on the coupon type inline and the offer's page.
REDEMPTION_RULES_FIELDS = [
    ("min_order_amount", "max_discount"),
    "categories",
    "per_customer_limit",
]
REDEMPTION_RULES_TITLE = _("Redemption rules")
REDEMPTION_RULES_HELP = _(
    "What an order must be for a coupon to apply (empty: any order). Money is "
    "in the benefit's currency, which orders must then be in. Each coupon keeps "
    "the rules it was issued with: a change here applies to coupons issued from "
    "now on."
)


class CouponTypeForm(forms.ModelForm):
    """The per-type rules the API's ``CouponTypeInputSerializer`` applies, too."""

    class Meta:
        model = CouponType
        # The inline's fieldsets decide the fields shown; these are the ones cleaned here.
        fields = ["code_prefix", "currency"]

    def clean_code_prefix(self) -> str:
        try:
            return normalize_prefix(self.cleaned_data["code_prefix"])
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean(self):
        """A quota below what the type issued is refused here, with its field
        named (the service refuses it too, under the row locks); the counters
        may be on the shards, where the row's own constraint cannot see them."""
        cleaned = super().clean()
        if self.instance.pk and QUOTA_FIELDS & set(self.changed_data):
            issued = quota_issued([self.instance.pk])[self.instance.pk]
            today = issued.on(self.instance.campaign.local_day())
            for field, count, message in [
                (
                    "total_quota",
                    issued.total,
                    gettext("%(count)d coupons were issued: not below that."),
                ),
                (
                    "daily_quota",
                    today,
                    gettext("%(count)d coupons were issued today: not below that."),
                ),
            ]:
                quota = cleaned.get(field)
                if quota is not None and quota < count:
                    self.add_error(field, message % {"count": count})
        return cleaned


class CouponTypeInline(admin.StackedInline):
    model = CouponType
    form = CouponTypeForm
    formset = CouponTypeFormSet
    extra = 0
    fieldsets = [
        (None, {"fields": [("name", "category")]}),
        (
            _("Benefit"),
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
            _("Odds and quotas"),
            {
                "fields": [
                    "probability",
                    ("total_quota", "daily_quota"),
                    "quota_shards",
                    "hold_seconds",
                ]
            },
        ),
        (
            _("Coupons"),
            {"fields": [("valid_days", "valid_until"), ("code_prefix", "code_length")]},
        ),
        (
            REDEMPTION_RULES_TITLE,
            {
                "fields": REDEMPTION_RULES_FIELDS,
                "description": REDEMPTION_RULES_HELP,
            },
        ),
    ]
    # Issued and left per type are in the campaign's live figures (one source,
    # the coupons); the quota counters on the row are the draw's enforcement.

    kind: str | None = None  # the campaign's, set by CampaignAdmin.get_inline_instances

    def get_fieldsets(self, request, obj=None):
        """Only the fields the campaign's kind reads: no odds on a claim, no hold
        on a draw (a field not shown is not in the form: a posted value is ignored)."""
        return fieldsets_of_kind(
            super().get_fieldsets(request, obj), self.kind, COUPON_TYPE_KIND_FIELDS
        )


class CampaignForm(forms.ModelForm):
    """The campaign's own fields, checked by the campaign rules; the rules that
    need its coupon types run in their inline (``CouponTypeFormSet``)."""

    kind: str | None = None  # a new campaign's, chosen first (CampaignAdmin.add_view)

    class Meta:
        model = Campaign
        fields = CAMPAIGN_EDITABLE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.kind is not None:
            self.instance.kind = self.kind

    def clean(self):
        cleaned = super().clean()
        # A field the form does not show (another kind's) keeps the campaign's value.
        errors = campaign_validate(
            **{
                name: cleaned.get(name)
                if name in self.fields
                else getattr(self.instance, name)
                for name in CHECKED_FIELDS
            },
            creating=self.instance._state.adding,
            end_moved="ends_at" in self.changed_data,
        )
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field, message)
        return cleaned


def _status_action(name: str, description: str, status: str, done: str):
    """An action setting the selected campaigns' status, after asking why."""
    return reason_action(
        name=name,
        description=description,
        apply=partial(services.campaign_status_set, status=status),
        target="campaign",
        done=done,
        help_text=_("Recorded in the audit log, with who did it."),
        permissions=["change"],
    )


_CAMPAIGN_FIELDS = {field.name for field in audited_fields(Campaign)}


def _type_fields(coupon_type: CouponType) -> dict:
    """A new coupon type's values as ``campaign_create`` takes them."""
    return {
        field.attname: getattr(coupon_type, field.attname)
        for field in audited_fields(CouponType)
        if field.name != "campaign"
    }


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Campaigns are created, edited, opened, paused, ended and deleted through
    ``campaigns.services``, which record each in the audit log."""

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
        (_("Live figures"), {"fields": ["live_figures"]}),
        (None, {"fields": ["name", "slug", "kind", "status", "description"]}),
        (_("When"), {"fields": ["timezone", ("starts_at", "ends_at")]}),
        (
            _("Rush windows (local times)"),
            {
                "fields": [
                    ("reservation_opens", "reservation_closes"),
                    ("rush_opens", "rush_closes"),
                    "ratio",
                ],
            },
        ),
        (_("Audit"), {"fields": [("created_by", "created_at", "updated_at")]}),
    ]

    actions = [
        _status_action(
            "campaign_activate",
            _("Activate (or resume) selected campaigns"),
            Campaign.Status.ACTIVE,
            _("Activated"),
        ),
        _status_action(
            "campaign_pause",
            _("Pause selected campaigns"),
            Campaign.Status.PAUSED,
            _("Paused"),
        ),
        _status_action(
            "campaign_end",
            _("End selected campaigns"),
            Campaign.Status.ENDED,
            _("Ended"),
        ),
    ]

    def add_view(self, request, form_url="", extra_context=None):
        """A campaign's kind is chosen first (``?kind=draw``), then the form shows
        that kind's fields only; without a kind, a page of links, one per kind."""
        kind = self.kind_to_add(request)
        if kind is None:
            if not self.has_add_permission(request):
                raise PermissionDenied
            return TemplateResponse(
                request,
                "admin/campaigns/campaign/choose_kind.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Add campaign: choose its kind"),
                    "opts": self.opts,
                    "kinds": Campaign.Kind.choices,
                },
            )
        title = gettext("Add campaign: %(kind)s") % {
            "kind": Campaign.Kind(kind).label.lower()
        }
        return super().add_view(
            request, form_url, {**(extra_context or {}), "title": title}
        )

    @staticmethod
    def kind_to_add(request) -> str | None:
        kind = request.GET.get("kind")
        return kind if kind in Campaign.Kind.values else None

    def _kind(self, request, obj) -> str | None:
        return obj.kind if obj is not None else self.kind_to_add(request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"kind": self._kind(request, obj)})

    def save_model(self, request, obj, form, change):
        if change:
            services.campaign_update(campaign=obj, acting_user=request.user)
        # A new campaign is made in save_related, where its coupon types' forms
        # are, by the service the API uses (campaign_create).

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)  # save_formset
            return
        new_types = [
            coupon_type
            for formset in formsets  # sets what the change message lists
            for coupon_type in formset.save(commit=False)
            if isinstance(coupon_type, CouponType)
        ]
        campaign = services.campaign_create(
            acting_user=request.user,
            coupon_types=[_type_fields(coupon_type) for coupon_type in new_types],
            **{
                **{
                    name: value
                    for name, value in form.cleaned_data.items()
                    if name in _CAMPAIGN_FIELDS
                },
                "kind": form.instance.kind,  # chosen first, not a field of the form
            },
        )
        obj = form.instance  # what the admin logs and redirects to
        obj.pk, obj.slug, obj.created_by = (
            campaign.pk,
            campaign.slug,
            campaign.created_by,
        )
        obj.created_at, obj.updated_at = campaign.created_at, campaign.updated_at
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        if formset.model is not CouponType:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        # Deletions first: a new type may take a deleted one's name.
        for coupon_type in formset.deleted_objects:
            services.coupon_type_delete(
                coupon_type=coupon_type, acting_user=request.user
            )
        changed = [coupon_type for coupon_type, _ in formset.changed_objects]
        for coupon_type in [*changed, *formset.new_objects]:
            services.coupon_type_save(coupon_type=coupon_type, acting_user=request.user)

    def delete_model(self, request, obj):
        services.campaign_delete(campaign=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():  # all or none, like Django's bulk delete
            for campaign in queryset:
                services.campaign_delete(campaign=campaign, acting_user=request.user)

    # Inlines the apps that run campaigns add for one kind, e.g. a rush's days
    # (``draws.rush.admin``): they register here, as campaigns imports no mode.
    kind_inlines: dict[str, list[type[admin.options.InlineModelAdmin]]] = {}

    @classmethod
    def add_kind_inline(cls, kind: str, inline) -> None:
        cls.kind_inlines.setdefault(kind, []).append(inline)

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        for inline in inlines:
            if isinstance(inline, CouponTypeInline):
                inline.kind = self._kind(request, obj)
        if obj is not None:
            inlines += [
                inline(self.model, self.admin_site)
                for inline in self.kind_inlines.get(obj.kind, [])
            ]
        return inlines

    def get_readonly_fields(self, request, obj=None):
        """The kind is chosen before the form (it decides the fields) and stays;
        an existing campaign's status changes through the actions, which ask why."""
        fields = [*super().get_readonly_fields(request, obj), "kind"]
        return [*fields, "status"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        fieldsets = fieldsets if obj is not None else fieldsets[1:]
        return fieldsets_of_kind(
            fieldsets, self._kind(request, obj), CAMPAIGN_KIND_FIELDS
        )

    @admin.display(description=_("Dashboard"))
    def live_figures(self, campaign: Campaign) -> str:
        return dashboard_with_assets(campaign)

    def get_urls(self):
        dashboard = partial(dashboard_view, self)
        return [
            path(
                "<path:object_id>/dashboard/",
                self.admin_site.admin_view(dashboard),
                name=DASHBOARD_URL_NAME,
            ),
            *super().get_urls(),
        ]
