"""What admin pages share: read-only history pages, and audited edit pages."""

from django.db import transaction

from couponsite.audit import audit_record, changes_between, field_values, stored_values


class ReadOnlyAdminMixin:
    """A page that shows rows written by services and edits none of them.

    No add, change or delete permission: Django then renders the change page
    of anyone allowed to view the model read-only, without Save buttons.
    ``allow_add`` and ``allow_delete`` keep what one page still does, e.g.
    releases are made from their add form (through ``batch_release``).
    Works for model admins and inlines alike.
    """

    allow_add = False
    allow_delete = False

    def has_add_permission(self, request, *args) -> bool:
        # ModelAdmin's takes (request), an inline's (request, obj).
        return self.allow_add and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.allow_delete and super().has_delete_permission(request, obj)


class AuditedAdminMixin:
    """Records each add, change and delete made on a plain edit page in the audit
    log, in the admin's transaction: ``<audit_noun>.created``, ``.changed`` (with
    the fields that changed, old and new) and ``.deleted``.

    For models edited only here (customers, offers); models with services of
    their own record through them.
    """

    audit_noun: str

    def save_model(self, request, obj, form, change):
        before = stored_values(obj) if change else {}
        super().save_model(request, obj, form, change)
        changes = changes_between(before, field_values(obj))
        if changes or not change:
            audit_record(
                acting_user=request.user,
                action=f"{self.audit_noun}.{'changed' if change else 'created'}",
                target=obj,
                changes=changes,
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._record_deletion(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The bulk "delete selected" action runs outside the admin's transaction.
        with transaction.atomic():
            for obj in queryset:
                self._record_deletion(request, obj)
            super().delete_queryset(request, queryset)

    def _record_deletion(self, request, obj) -> None:
        audit_record(
            acting_user=request.user,
            action=f"{self.audit_noun}.deleted",
            target=obj,
            changes=changes_between(field_values(obj), {}),
        )
