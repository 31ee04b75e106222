"""The voucher pool's offers, edited here; vouchers generated from a CSV of emails."""

import csv

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from campaigns.admin import REDEMPTION_RULES_FIELDS, REDEMPTION_RULES_HELP
from couponsite.admin_mixins import AuditedAdminMixin
from couponsite.codes import display_code
from vouchers import services
from vouchers.figures import offer_tallies, offer_tally_counts
from vouchers.forms import GenerateVouchersForm
from vouchers.models import Offer


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
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    ("discount", "currency"),
                    ("code_prefix", "code_length"),
                    "created_at",
                    "figures",
                ]
            },
        ),
        (
            _("Redemption rules"),
            {
                "fields": REDEMPTION_RULES_FIELDS,
                "description": REDEMPTION_RULES_HELP,
            },
        ),
    ]
    change_list_template = "admin/vouchers/offer/change_list.html"

    def get_queryset(self, request):
        # The voucher pool's figures (vouchers.figures), one GROUP BY with the list.
        counts = offer_tally_counts(timezone.now(), prefix="vouchers__")
        return (
            super()
            .get_queryset(request)
            .annotate(**{f"{name}_count": count for name, count in counts.items()})
        )

    @admin.display(description=_("vouchers issued"), ordering="issued_count")
    def issued(self, offer: Offer) -> int:
        return offer.issued_count

    @admin.display(description=_("redeemed"), ordering="redeemed_count")
    def redeemed(self, offer: Offer) -> int:
        return offer.redeemed_count

    @admin.display(description=_("expired"), ordering="expired_count")
    def expired(self, offer: Offer) -> int:
        return offer.expired_count

    @admin.display(
        description=_("outstanding (redeemable)"), ordering="outstanding_count"
    )
    def outstanding(self, offer: Offer) -> int:
        return offer.outstanding_count

    @admin.display(description=_("Vouchers of this offer"))
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
                send_emails=form.cleaned_data["send_emails"],
                language=form.cleaned_data["language"],
            )
            if form.cleaned_data["send_emails"]:  # shown on the next page too
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s email with its code queued; the task worker "
                        "sends it (Messages to customers).",
                        "%(count)s emails with their codes queued; the task "
                        "worker sends them (Messages to customers).",
                        len(vouchers),
                    )
                    % {"count": len(vouchers)},
                    messages.INFO,
                )
            if read.skipped:  # shown on the next page (the answer is a file)
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s voucher generated; skipped: %(skipped)s",
                        "%(count)s vouchers generated; skipped: %(skipped)s",
                        len(vouchers),
                    )
                    % {
                        "count": len(vouchers),
                        "skipped": "; ".join(map(str, read.skipped)),
                    },
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
                "title": gettext("Generate vouchers from a CSV of emails"),
                "form": form,
                "opts": self.model._meta,
            },
        )
