from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from customers import services
from customers.models import ApiToken, Customer, OneTimeCode


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fk_name = "customer"
    extra = 0
    fields = ["prefix", "name", "created_at", "revoked_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["phone", "email", "name", "is_active", "created_at"]
    search_fields = ["phone", "email", "name"]
    list_filter = ["is_active"]
    date_hierarchy = "created_at"
    inlines = [ApiTokenInline]


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(admin.ModelAdmin):
    list_display = ["phone", "sent_at", "expires_at", "attempts", "used_at"]
    search_fields = ["phone"]
    readonly_fields = [
        "phone",
        "code_hash",
        "sent_at",
        "expires_at",
        "attempts",
        "used_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff tokens are made here; the token is shown once, on creation."""

    list_display = ["prefix", "name", "user", "customer", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "user__username", "customer__phone"]
    list_select_related = ["user", "customer"]
    fields = ["user", "name"]
    actions = ["revoke"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(
                is_staff=True, is_active=True
            )
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["prefix", "user", "customer", "name", "created_at", "revoked_at"]
        return []

    def get_fields(self, request, obj=None):
        if obj is not None:
            return ["prefix", "user", "customer", "name", "created_at", "revoked_at"]
        return self.fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        user = form.cleaned_data["user"]
        token = services.token_create(user=user, name=form.cleaned_data["name"])
        obj.pk = token.pk
        messages.warning(
            request,
            f"Token for {user.username}: {token.key} — copy it now, it is not shown again.",
        )

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.active():
            services.token_revoke(token=token)
        self.message_user(request, "Revoked.")
