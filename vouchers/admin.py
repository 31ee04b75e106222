import csv

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from couponsite.admin_actions import reason_action
from couponsite.admin_csv import csv_export_action
from couponsite.admin_mixins import AuditedAdminMixin, ReadOnlyAdminMixin
from couponsite.codes import display_code, normalize_code
from vouchers import services
from vouchers.figures import offer_tallies, offer_tally_counts
from vouchers.forms import GenerateVouchersForm
from vouchers.models import Offer, Voucher, VoucherEvent


@admin.register(Offer)
class OfferAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_noun = "offer"

    list_display = [
        "name",
        "discount",
        "issued",
        "redeemed",
        "expired",
        "outstanding",
        "created_at",
        "updated_at",
    ]
    search_fields = ["name"]
    readonly_fields = ["figures"]
    change_list_template = "admin/vouchers/offer/change_list.html"

    def get_queryset(self, request):
        # The voucher pool's figures (vouchers.figures), one GROUP BY with the list.
        counts = offer_tally_counts(timezone.now(), prefix="vouchers__")
        return (
            super()
            .get_queryset(request)
            .annotate(**{f"{name}_count": count for name, count in counts.items()})
        )

    @admin.display(description="vouchers issued", ordering="issued_count")
    def issued(self, offer: Offer) -> int:
        return offer.issued_count

    @admin.display(ordering="redeemed_count")
    def redeemed(self, offer: Offer) -> int:
        return offer.redeemed_count

    @admin.display(ordering="expired_count")
    def expired(self, offer: Offer) -> int:
        return offer.expired_count

    @admin.display(description="outstanding (redeemable)", ordering="outstanding_count")
    def outstanding(self, offer: Offer) -> int:
        return offer.outstanding_count

    @admin.display(description="Vouchers of this offer")
    def figures(self, offer: Offer) -> str:
        if offer.pk is None:
            return "—"
        tally = offer_tallies(timezone.now(), offer_ids=[offer.pk])["total"]
        return render_to_string(
            "admin/vouchers/offer/figures.html", {"t": tally, "with_style": True}
        )

    def changelist_view(self, request, extra_context=None):
        """The list page opens with the whole voucher pool's figures."""
        pool = offer_tallies(timezone.now())["total"]
        return super().changelist_view(
            request, extra_context={**(extra_context or {}), "pool": pool}
        )

    def get_urls(self):
        return [
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="vouchers_offer_generate",
            ),
            *super().get_urls(),
        ]

    def generate_view(self, request):
        """Bulk generation from a CSV of emails; answers with a CSV of the codes."""
        if not request.user.has_perm("vouchers.add_voucher"):
            raise PermissionDenied
        form = GenerateVouchersForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            read = form.cleaned_data["emails_csv"]
            vouchers = services.vouchers_generate(
                emails=read.emails,
                offer_name=form.cleaned_data["offer_name"],
                discount=form.cleaned_data["discount"],
                expires_at=form.cleaned_data["expires_at"],
                acting_user=request.user,
            )
            if read.skipped:  # shown on the next page (the answer is a file)
                self.message_user(
                    request,
                    f"{len(vouchers)} vouchers generated; skipped: "
                    + "; ".join(map(str, read.skipped)),
                    messages.WARNING,
                )
            response = HttpResponse(content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="vouchers.csv"'
            writer = csv.writer(response)
            writer.writerow(["email", "code", "offer", "discount", "expires_at"])
            for voucher in vouchers:
                writer.writerow(
                    [
                        voucher.email,
                        display_code(voucher.code),
                        voucher.offer.name,
                        voucher.percent,
                        voucher.expires_at.isoformat(),
                    ]
                )
            return response
        return TemplateResponse(
            request,
            "admin/vouchers/offer/generate.html",
            {
                **self.admin_site.each_context(request),
                "title": "Generate vouchers from a CSV of emails",
                "form": form,
                "opts": self.model._meta,
            },
        )


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = VoucherEvent
    extra = 0
    fields = ["created_at", "kind", "customer", "actor", "reason", "data"]
    readonly_fields = fields


class CodeSearchMixin:
    """Admin search that finds a voucher code however it was typed (case, dashes,
    look-alikes), on top of the usual ``search_fields``."""

    code_lookup = "code"

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        canonical = normalize_code(search_term)
        if canonical:
            found |= queryset.filter(**{self.code_lookup: canonical})
        return found, may_have_duplicates


@admin.register(Voucher)
class VoucherAdmin(CodeSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Vouchers change only through their services (the actions below, the API)."""

    list_display = [
        "shown_code",
        "status",
        "source",
        "campaign",
        "owner",
        "email",
        "expires_at",
        "held_until",
        "used_at",
    ]
    list_filter = [
        "status",
        "campaign",
        "offer",
        "benefit_kind",
        "expires_at",
        "issued_at",
    ]
    search_fields = ["code", "email", "owner__phone", "owner__email", "order_ref"]
    list_select_related = ["campaign", "coupon_type", "offer", "owner"]
    date_hierarchy = "created_at"
    inlines = [EventInline]
    actions = [
        reason_action(
            name="voucher_void",
            description="Void selected vouchers",
            apply=services.voucher_void,
            target="voucher",
            done="Voided",
            help_text="Recorded in the voucher's history.",
            permissions=["void"],
        ),
        reason_action(
            name="voucher_rollback_redemption",
            description="Roll back the redemption of selected vouchers",
            apply=services.voucher_rollback_redemption,
            target="voucher",
            done="Rolled back",
            help_text="Recorded in the voucher's history.",
            permissions=["rollback"],
        ),
    ]

    # Voiding and rolling back change a voucher through its services only (the
    # page itself edits nothing), each with its own permission (couponsite.roles).
    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("vouchers.void_voucher")

    def has_rollback_permission(self, request) -> bool:
        return request.user.has_perm("vouchers.rollback_voucher")

    readonly_fields = [
        "code",
        "status",
        "campaign",
        "coupon_type",
        "offer",
        "release",
        "owner",
        "email",
        "benefit_kind",
        "amount",
        "currency",
        "percent",
        "free_item",
        "issued_at",
        "expires_at",
        "held_until",
        "used_at",
        "order_ref",
        "redeemed_by",
        "created_at",
    ]

    @admin.display(description="code", ordering="code")
    def shown_code(self, voucher: Voucher) -> str:
        return display_code(voucher.code)

    @admin.display(description="offer / coupon type")
    def source(self, voucher: Voucher) -> str:
        return voucher.source_name


@admin.register(VoucherEvent)
class VoucherEventAdmin(CodeSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The history; filter on kind "Redeemed" and export for the redemptions report."""

    actions = [
        csv_export_action(
            "voucher-events.csv",
            [
                ("created_at", lambda e: e.created_at.isoformat()),
                ("kind", lambda e: e.kind),
                (
                    "code",
                    lambda e: display_code(e.voucher.code) if e.voucher_id else "",
                ),
                ("campaign", lambda e: e.campaign.slug if e.campaign_id else ""),
                ("phone", lambda e: e.customer.phone if e.customer_id else ""),
                ("staff", lambda e: e.actor.username if e.actor_id else ""),
                ("order_ref", lambda e: e.data.get("order_ref", "")),
                ("reason", lambda e: e.reason),
            ],
            select_related=["voucher", "campaign", "customer", "actor"],
        )
    ]

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
