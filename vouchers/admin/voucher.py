"""A voucher's page (its code as customers see it, its history as a timeline,
void and roll-back buttons that ask why), the list and its export, and the
vouchers panel of a customer's page."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from couponsite.admin_actions import reason_action, reason_page
from couponsite.admin_csv import Column, CsvExport, CsvExportMixin
from couponsite.admin_mixins import ReadOnlyAdminMixin
from couponsite.codes import display_code
from customers.admin import CustomerAdmin
from customers.admin_story import StoryPanel, admin_link
from vouchers import services
from vouchers.admin.search import CodeSearchMixin
from vouchers.models import Voucher

# What staff do to a voucher, through its services, after saying why: actions
# on ticked rows in the list, and buttons on the voucher's page.
STAFF_CHANGES = {
    "void": {
        "action": "voucher_void",
        "action_description": _("Void selected vouchers"),
        "description": _("Void this voucher"),
        "apply": services.voucher_void,
        "done": _("Voided"),
        "permission": "void",
        "can": lambda voucher: voucher.status != Voucher.Status.VOID,
    },
    "rollback": {
        "action": "voucher_rollback_redemption",
        "action_description": _("Roll back the redemption of selected vouchers"),
        "description": _("Roll back the redemption"),
        "apply": services.voucher_rollback_redemption,
        "done": _("Rolled back"),
        "permission": "rollback",
        "can": lambda voucher: voucher.status == Voucher.Status.REDEEMED,
    },
}
HELP = _("Recorded in the voucher's history, with who did it.")
TIMELINE_EVENTS = 50  # a pool coupon claimed and let go daily has a long history


def shown_code(code: str):
    """The code as customers see it, kept on one line."""
    return format_html(
        '<span class="nowrap voucher-code">{}</span>', display_code(code)
    )


@admin.register(Voucher)
class VoucherAdmin(
    CsvExportMixin, CodeSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    """Vouchers change only through their services: the actions and the void and
    roll-back buttons on a voucher's page (both ask why), and the API."""

    list_display = [
        "code_display",
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
    change_form_template = "admin/vouchers/voucher/change_form.html"
    csv_export = CsvExport(
        "vouchers.csv",
        [
            Column("code", "code", display_code),
            Column("status", "status"),
            Column("campaign", "campaign__slug"),
            Column("coupon_type", "coupon_type__name"),
            Column("offer", "offer__name"),
            Column("phone", "owner__phone"),
            Column("email", "email"),
            Column("benefit_kind", "benefit_kind"),
            Column("amount", "amount"),
            Column("currency", "currency"),
            Column("percent", "percent"),
            Column("free_item", "free_item"),
            Column("issued_at", "issued_at"),
            Column("expires_at", "expires_at"),
            Column("held_until", "held_until"),
            Column("used_at", "used_at"),
            Column("order_ref", "order_ref"),
            # A redemption with an order: what it came to and the money off.
            Column("order_amount", "order_amount"),
            Column("order_currency", "order_currency"),
            Column("discount_granted", "discount_granted"),
        ],
    )
    actions = [
        *(
            reason_action(
                name=spec["action"],
                description=spec["action_description"],
                apply=spec["apply"],
                target="voucher",
                done=spec["done"],
                help_text=HELP,
                permissions=[spec["permission"]],
            )
            for spec in STAFF_CHANGES.values()
        ),
        csv_export.action(),
    ]
    fieldsets = [
        (None, {"fields": ["code_display", ("status", "effective_status")]}),
        (
            _("Where it comes from"),
            {"fields": [("campaign", "coupon_type"), ("offer", "release")]},
        ),
        (
            _("Whose"),
            {"fields": [("owner", "email")]},
        ),
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
            _("When"),
            {"fields": [("created_at", "issued_at", "expires_at"), "held_until"]},
        ),
        (
            _("Redemption rules"),
            {
                "fields": [
                    ("min_order_amount", "max_discount"),
                    ("categories", "per_customer_limit"),
                ]
            },
        ),
        (
            _("Redemption"),
            {
                "fields": [
                    ("used_at", "order_ref", "redeemed_by"),
                    ("order_amount", "order_currency", "discount_granted"),
                ]
            },
        ),
        (_("History"), {"fields": ["timeline"]}),
    ]
    readonly_fields = [
        "code_display",
        "status",
        "effective_status",
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
        "min_order_amount",
        "max_discount",
        "categories",
        "per_customer_limit",
        "issued_at",
        "expires_at",
        "held_until",
        "used_at",
        "order_ref",
        "redeemed_by",
        "order_amount",
        "order_currency",
        "discount_granted",
        "created_at",
        "timeline",
    ]

    # Voiding and rolling back change a voucher through its services only (the
    # page itself edits nothing), each with its own permission (couponsite.roles).
    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("vouchers.void_voucher")

    def has_rollback_permission(self, request) -> bool:
        return request.user.has_perm("vouchers.rollback_voucher")

    def _may(self, request, change: str) -> bool:
        return getattr(self, f"has_{STAFF_CHANGES[change]['permission']}_permission")(
            request
        )

    def get_object(self, request, object_id, from_field=None):
        """The voucher with everything its page names, in one query."""
        if from_field is not None:
            return super().get_object(request, object_id, from_field)
        try:
            return (
                self.get_queryset(request)
                .select_related(
                    "campaign",
                    "coupon_type__campaign",
                    "offer",
                    "release__coupon_type",
                    "owner",
                    "redeemed_by",
                )
                .get(pk=object_id)
            )
        except (Voucher.DoesNotExist, ValidationError, ValueError):
            return None

    def get_urls(self):
        return [
            path(
                "<path:object_id>/staff/<slug:change>/",
                self.admin_site.admin_view(self.staff_change_view),
                name="vouchers_voucher_staff_change",
            ),
            *super().get_urls(),
        ]

    def staff_change_view(self, request, object_id, change):
        """A button of the voucher's page: asks why, then voids or rolls back."""
        if change not in STAFF_CHANGES:
            raise Http404
        if not self._may(request, change):
            raise PermissionDenied
        voucher = self.get_object(request, object_id)
        if voucher is None:
            raise Http404
        spec = STAFF_CHANGES[change]
        return reason_page(
            self,
            request,
            voucher,
            description=spec["description"],
            apply=spec["apply"],
            target="voucher",
            done=spec["done"],
            back_url=reverse("admin:vouchers_voucher_change", args=[voucher.pk]),
            help_text=HELP,
        )

    def render_change_form(self, request, context, add=False, change=False, **kw):
        voucher = kw.get("obj")
        if voucher is not None:
            context["staff_changes"] = [
                {
                    "label": spec["description"],
                    "url": reverse(
                        "admin:vouchers_voucher_staff_change", args=[voucher.pk, name]
                    ),
                }
                for name, spec in STAFF_CHANGES.items()
                if spec["can"](voucher) and self._may(request, name)
            ]
        return super().render_change_form(request, context, add, change, **kw)

    @admin.display(description=_("code"), ordering="code")
    def code_display(self, voucher: Voucher):
        return shown_code(voucher.code)

    @admin.display(description=_("offer / coupon type"))
    def source(self, voucher: Voucher) -> str:
        return voucher.source_name

    @admin.display(description=_("as customers see it now"))
    def effective_status(self, voucher: Voucher) -> str:
        return Voucher.Status(voucher.effective_status()).label

    @admin.display(description=_("timeline (oldest first)"))
    def timeline(self, voucher: Voucher) -> str:
        """The voucher's events: what happened, when, by which staff member or
        customer, and why."""
        latest = list(
            voucher.events.select_related("actor", "customer").order_by(
                "-created_at", "-id"
            )[: TIMELINE_EVENTS + 1]
        )
        return render_to_string(
            "admin/vouchers/voucher/timeline.html",
            {
                "events": [
                    {
                        "event": event,
                        "customer": admin_link(
                            event.customer, event.customer and event.customer.phone
                        ),
                        "details": sorted(event.data.items()),
                    }
                    for event in reversed(latest[:TIMELINE_EVENTS])
                ],
                "more": len(latest) > TIMELINE_EVENTS,
                "all_url": reverse("admin:vouchers_voucherevent_changelist")
                + f"?voucher__id__exact={voucher.pk}",
            },
        )


CustomerAdmin.add_story_panel(
    StoryPanel(
        title=_("Vouchers"),
        model=Voucher,
        lookups=lambda customer: {"owner__id__exact": customer.pk},
        columns=[
            (_("code"), lambda voucher: shown_code(voucher.code)),
            (_("status"), lambda voucher: voucher.get_status_display()),
            (_("offer / coupon type"), lambda voucher: voucher.source_name),
            (_("campaign"), lambda voucher: voucher.campaign or ""),
            (_("issued at"), lambda voucher: voucher.issued_at),
            (_("expires at"), lambda voucher: voucher.expires_at),
            (_("used at"), lambda voucher: voucher.used_at),
        ],
        position=10,
        select_related=["campaign", "coupon_type", "offer"],
    )
)
