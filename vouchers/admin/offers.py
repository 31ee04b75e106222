"""The voucher pool's offers, edited here; vouchers generated from a CSV of emails."""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from couponsite.admin_mixins import AuditedAdminMixin
from couponsite.codes import display_code
from vouchers import services
from vouchers.forms import GenerateVouchersForm
from vouchers.models import Offer


@admin.register(Offer)
class OfferAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_noun = "offer"

    list_display = ["name", "discount", "issued", "created_at", "updated_at"]
    search_fields = ["name"]
    change_list_template = "admin/vouchers/offer/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(issued_count=Count("vouchers"))

    @admin.display(description="vouchers issued", ordering="issued_count")
    def issued(self, offer: Offer) -> int:
        return offer.issued_count

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
            vouchers = services.vouchers_generate(
                emails=form.cleaned_data["emails_csv"],
                offer_name=form.cleaned_data["offer_name"],
                discount=form.cleaned_data["discount"],
                expires_at=form.cleaned_data["expires_at"],
                acting_user=request.user,
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
