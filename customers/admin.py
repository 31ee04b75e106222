import contextlib

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from couponsite.admin_actions import reason_action, reason_page
from couponsite.admin_mixins import AuditedAdminMixin, ReadOnlyAdminMixin
from couponsite.audit import audit_record, changes_between, field_values
from customers import services
from customers.admin_story import StoryPanel, customer_story
from customers.models import (
    ApiToken,
    Customer,
    EmailVerification,
    OneTimeCode,
    SmsCount,
)
from customers.phones import normalize_phone


class ApiTokenInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApiToken
    fk_name = "customer"
    extra = 0
    fields = ["prefix", "name", "created_at", "expires_at", "revoked_at"]
    readonly_fields = fields
    show_change_link = True


BLOCK_HELP = _(
    "Why (recorded in the history, with who did it). The customer may still "
    "sign in and use the coupons they hold; their draws, claims, reservations "
    "and grabs are refused (CUSTOMER_BLOCKED)."
)
REASON_HELP = _("Recorded in the history, with who did it.")


class BlockedFilter(admin.EmptyFieldListFilter):
    title = _("blocked")

    def choices(self, changelist):
        labels = [gettext("All"), gettext("Not blocked"), gettext("Blocked")]
        for choice, label in zip(super().choices(changelist), labels, strict=True):
            yield {**choice, "display": label}


@admin.register(Customer)
class CustomerAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A customer's details, edited here, and their story: panels of what they
    did, which the apps above add (``add_story_panel``)."""

    audit_noun = "customer"

    list_display = [
        "phone",
        "email",
        "name",
        "is_active",
        "blocked",
        "created_at",
        "erased_at",
    ]
    search_fields = ["phone", "email", "name"]
    search_help_text = _(
        "A phone number however written (+1 415 555 0123), an email, or a name."
    )
    list_filter = [
        "is_active",
        ("blocked_at", BlockedFilter),
        ("erased_at", admin.EmptyFieldListFilter),
    ]
    readonly_fields = ["blocked_at", "blocked_reason", "blocked_by"]
    actions = ["block", "unblock"]
    date_hierarchy = "created_at"
    inlines = [ApiTokenInline]
    change_form_template = "admin/customers/customer/change_form.html"

    story_panels: list[StoryPanel] = []

    block = reason_action(
        name="block",
        description=_("Block selected customers from taking part"),
        apply=services.customer_block,
        target="customer",
        done=_("Blocked"),
        help_text=BLOCK_HELP,
        permissions=["block"],
    )
    unblock = reason_action(
        name="unblock",
        description=_("Unblock selected customers"),
        apply=services.customer_unblock,
        target="customer",
        done=_("Unblocked"),
        help_text=REASON_HELP,
        permissions=["block"],
    )

    @admin.display(description=_("blocked"), ordering="blocked_at")
    def blocked(self, customer: Customer):
        if customer.blocked_at is None:
            return ""
        return format_html(
            '<span class="customer-blocked" title="{}">{}</span>',
            customer.blocked_reason,
            gettext("blocked"),
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/block/<slug:change>/",
                self.admin_site.admin_view(self.block_view),
                name="customers_customer_block",
            ),
            path(
                "<path:object_id>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="customers_customer_erase",
            ),
            *super().get_urls(),
        ]

    def block_view(self, request, object_id, change):
        """The Block / Unblock button of a customer's page: asks why, then acts."""
        if change not in ("block", "unblock"):
            raise Http404
        if not self.has_block_permission(request):
            raise PermissionDenied
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        blocking = change == "block"
        return reason_page(
            self,
            request,
            customer,
            description=gettext("Block this customer from taking part")
            if blocking
            else gettext("Unblock this customer"),
            apply=services.customer_block if blocking else services.customer_unblock,
            target="customer",
            done=gettext("Blocked") if blocking else gettext("Unblocked"),
            back_url=reverse("admin:customers_customer_change", args=[customer.pk]),
            help_text=BLOCK_HELP if blocking else REASON_HELP,
        )

    @classmethod
    def add_story_panel(cls, panel: StoryPanel) -> None:
        """Show ``panel`` on every customer's page (apps call this at import)."""
        cls.story_panels.append(panel)

    def has_block_permission(self, request) -> bool:
        """Block / Unblock (the list actions and the page's button)."""
        return request.user.has_perm("customers.block_customer")

    def _may_erase(self, request) -> bool:
        return request.user.has_perm("customers.erase_customer")

    def erase_view(self, request, object_id):
        """The customer page's "Erase this customer": asks why, then erases
        (``customer_erase``; the audit entry names who and why)."""
        if not self._may_erase(request):
            raise PermissionDenied
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        return reason_page(
            self,
            request,
            customer,
            description=gettext("Erase this customer's personal data"),
            apply=services.customer_erase,
            target="customer",
            done=gettext("Erased"),
            back_url=reverse("admin:customers_customer_change", args=[customer.pk]),
            help_text=gettext(
                "Why (e.g. the request's reference). Recorded in the history, "
                "with who did it. Their phone, email and name go for good; their "
                "draws, claims and vouchers stay, anonymised."
            ),
        )

    def get_readonly_fields(self, request, obj=None):
        # An erased customer's row is kept for the counts; nothing on it changes.
        if obj is not None and obj.erased_at is not None:
            return [field.name for field in self.model._meta.fields]
        return [*super().get_readonly_fields(request, obj), "erased_at"]

    def render_change_form(self, request, context, add=False, change=False, **kw):
        customer = kw.get("obj")
        if customer is not None and customer.erased_at is None:
            context["erase_url"] = (
                reverse("admin:customers_customer_erase", args=[customer.pk])
                if self._may_erase(request)
                else None
            )
        if (
            customer is not None
            and customer.erased_at is None
            and self.has_block_permission(request)
        ):
            change_name = "unblock" if customer.blocked_at else "block"
            context["block_button"] = {
                "label": gettext("Unblock")
                if customer.blocked_at
                else gettext("Block"),
                "url": reverse(
                    "admin:customers_customer_block", args=[customer.pk, change_name]
                ),
            }
        if customer is not None:
            story = customer_story(
                self.story_panels, customer, request, self.admin_site
            )
            context["story"] = [panel for panel in story if panel["rows"]]
            context["story_empty"] = [
                panel["title"] for panel in story if not panel["rows"]
            ]
        return super().render_change_form(request, context, add, change, **kw)

    def get_search_results(self, request, queryset, search_term):
        """On top of the usual search: a phone number however written (spaces,
        dashes, parentheses; without the country code where
        ``PHONE_DEFAULT_REGION`` is set) is found by its E.164 form, and an
        email in any case by its lower-case form (both exact matches)."""
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        term = search_term.strip()
        with contextlib.suppress(ValidationError):  # not a phone number
            found |= queryset.filter(phone=normalize_phone(term))
        if "@" in term:
            found |= queryset.alias(email_lower=Lower("email")).filter(
                email_lower=term.lower()
            )
        return found, may_have_duplicates


@admin.register(EmailVerification)
class EmailVerificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Email changes waiting for their code, and past ones; read-only."""

    allow_delete = True  # as before

    list_display = [
        "email",
        "customer",
        "sent_at",
        "expires_at",
        "attempts",
        "verified_at",
    ]
    list_filter = [("verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "customer__phone", "customer__email"]
    list_select_related = ["customer"]
    readonly_fields = [
        "customer",
        "email",
        "sent_at",
        "expires_at",
        "attempts",
        "verified_at",
    ]
    exclude = ["code_hash"]


@admin.register(SmsCount)
class SmsCountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Sign-in texts per clock hour: the site's row (prefix empty) and each
    phone prefix's (customers.services.sms_limits); read-only."""

    list_display = ["hour", "prefix_shown", "sent", "refused", "exhausted_at"]
    list_filter = [("exhausted_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix"]
    date_hierarchy = "hour"
    ordering = ["-hour", "-sent"]
    readonly_fields = ["hour", "prefix", "sent", "refused", "warned_at", "exhausted_at"]

    @admin.display(description=_("prefix"), ordering="prefix")
    def prefix_shown(self, row: SmsCount) -> str:
        return f"+{row.prefix}" if row.prefix else gettext("(the whole site)")


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    allow_delete = True  # as before

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


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at <= timezone.now():
            raise forms.ValidationError(_("Choose a time in the future."))
        return expires_at


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff tokens are made here; the token is shown once, on creation.

    A new token ends ``STAFF_TOKEN_TTL_SECONDS`` from now unless another end is
    chosen; to end one earlier, revoke it.
    """

    form = ApiTokenForm
    list_display = [
        "prefix",
        "name",
        "user",
        "customer",
        "created_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["prefix", "name", "user__username", "customer__phone"]
    list_select_related = ["user", "customer"]
    fields = ["user", "name", "expires_at"]
    actions = ["revoke"]
    # An existing token is only shown: it is revoked, never edited.
    shown_fields = [
        "prefix",
        "user",
        "customer",
        "name",
        "created_at",
        "expires_at",
        "revoked_at",
    ]

    def get_changeform_initial_data(self, request):
        return {
            **super().get_changeform_initial_data(request),
            "expires_at": timezone.now() + services.token_lifetime(staff=True),
        }

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(
                is_staff=True, is_active=True
            )
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return self.shown_fields
        return []

    def get_fields(self, request, obj=None):
        if obj is not None:
            return self.shown_fields
        return self.fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        user = form.cleaned_data["user"]
        token = services.token_create(
            user=user,
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
        )
        obj.pk = token.pk
        audit_record(
            acting_user=request.user,
            action="api_token.created",
            target=token,
            changes=changes_between({}, field_values(token)),
        )
        messages.warning(
            request,
            gettext(
                "Token for %(username)s: %(token)s — copy it now, it is not shown "
                "again. It works until %(expires_at)s."
            )
            % {
                "username": user.username,
                "token": token.key,
                "expires_at": f"{token.expires_at:%Y-%m-%d %H:%M %Z}",
            },
        )

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        with transaction.atomic():  # actions run outside the admin's transaction
            for token in queryset.active():
                services.token_revoke(token=token)
                audit_record(
                    acting_user=request.user, action="api_token.revoked", target=token
                )
        self.message_user(request, gettext("Revoked."))


CustomerAdmin.add_story_panel(
    StoryPanel(
        title=_("Sign-in code (the last one sent; the code itself is never kept)"),
        model=OneTimeCode,
        lookups=lambda customer: {"phone__exact": customer.phone},
        columns=[
            (_("sent at"), lambda code: code.sent_at),
            (_("expires at"), lambda code: code.expires_at),
            (_("wrong guesses"), lambda code: code.attempts),
            (_("used at"), lambda code: code.used_at or gettext("not used")),
        ],
        position=90,
        ordering=["-sent_at"],
    )
)
CustomerAdmin.add_story_panel(
    StoryPanel(
        title=_("Email verification codes sent"),
        model=EmailVerification,
        lookups=lambda customer: {"customer__id__exact": customer.pk},
        columns=[
            (_("sent at"), lambda row: row.sent_at),
            (_("email"), lambda row: row.email),
            (_("wrong guesses"), lambda row: row.attempts),
            (_("verified at"), lambda row: row.verified_at or gettext("not verified")),
        ],
        position=91,
        ordering=["-sent_at"],
    )
)
