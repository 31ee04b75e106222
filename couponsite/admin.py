from django.conf import settings
from django.contrib import admin
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

from couponsite.admin_mixins import ReadOnlyAdminMixin
from couponsite.models import AuditEntry

# The back office's name, on every admin page; its start page (templates/admin/
# index.html) shows the campaigns running now.
# (Lazy: read when a page is drawn, so a changed setting shows at once.)
admin.site.site_header = lazy(
    lambda: (
        gettext("%(retailer)s coupon back office")
        % {"retailer": settings.RETAILER_NAME}
    ),
    str,
)()
admin.site.site_title = lazy(
    lambda: gettext("%(retailer)s back office") % {"retailer": settings.RETAILER_NAME},
    str,
)()
admin.site.index_title = gettext_lazy("Start: what runs now")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who did what in the back office (vouchers' own history is their events)."""

    list_display = [
        "created_at",
        "action",
        "target_type",
        "target_repr",
        "by",
        "reason",
        "changes",
    ]
    list_filter = [
        "action",
        ("acting_user", admin.RelatedOnlyFieldListFilter),
        ("target_type", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    search_fields = ["target_repr", "=target_id"]
    list_select_related = ["acting_user", "target_type"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log grows large; skip the extra COUNT
    fields = [
        "created_at",
        "action",
        "acting_user",
        "target_type",
        "target_id",
        "target_repr",
        "reason",
        "changes",
    ]

    @admin.display(
        description=gettext_lazy("acting user"),
        ordering="acting_user__username",
        empty_value=gettext_lazy("(no user: a command)"),
    )
    def by(self, entry: AuditEntry):
        return entry.acting_user
