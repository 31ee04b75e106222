"""The webhooks' back office: endpoints (events as checkboxes, the secret shown
once, rolled with a reason), the events sent and the delivery log with each
attempt and a "send again" action that asks why."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from couponsite.admin_actions import reason_action, reason_page
from couponsite.admin_mixins import AuditedAdminMixin, ReadOnlyAdminMixin
from webhooks import services, transport
from webhooks.events import EventType
from webhooks.models import Attempt, Delivery, Endpoint, Event


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            transport.target_check(url)
        except transport.TargetRefused as refused:
            raise forms.ValidationError(
                refused.translated(), code="target_refused"
            ) from None
        return url


@admin.register(Endpoint)
class EndpointAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = EndpointForm
    audit_noun = "webhook_endpoint"
    list_display = ["url", "description", "active", "events", "created_at"]
    list_filter = ["active"]
    readonly_fields = ["masked_secret", "created_at", "secret_rolled_at"]

    @admin.display(description=_("Signing secret"))
    def masked_secret(self, obj):
        if not obj.pk:
            return gettext("Made when the endpoint is saved, and shown once.")
        roll = reverse("admin:webhooks_endpoint_roll_secret", args=[obj.pk])
        return format_html(
            '{}…{} <a class="button" href="{}">{}</a>',
            obj.secret[:6],
            obj.secret[-4:],
            roll,
            gettext("Roll the secret"),
        )

    def has_roll_secret_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.roll_secret_endpoint")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.endpoint_saved()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.endpoint_saved()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.endpoint_saved()

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page(request, obj)

    def _secret_page(self, request, obj):
        return TemplateResponse(
            request,
            "admin/webhooks/endpoint_secret.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Signing secret"),
                "endpoint": obj,
                "opts": self.model._meta,
                "back_url": reverse("admin:webhooks_endpoint_change", args=[obj.pk]),
            },
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/roll-secret/",
                self.admin_site.admin_view(self.roll_secret_view),
                name="webhooks_endpoint_roll_secret",
            ),
            *super().get_urls(),
        ]

    def roll_secret_view(self, request, pk: int):
        if not self.has_roll_secret_permission(request):
            raise PermissionDenied
        endpoint = Endpoint.objects.filter(pk=pk).first()
        if endpoint is None:
            raise Http404
        back = reverse("admin:webhooks_endpoint_change", args=[pk])
        answer = reason_page(
            self,
            request,
            endpoint,
            description=gettext("Roll the signing secret"),
            apply=services.endpoint_roll_secret,
            target="endpoint",
            done=gettext("New secret made"),
            back_url=back,
            help_text=gettext(
                "The old secret stops working at once. Recorded with who did it."
            ),
        )
        if request.method == "POST" and answer.status_code == 302:
            endpoint.refresh_from_db()
            return self._secret_page(request, endpoint)
        return answer


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attempt
    extra = 0
    fields = ["started_at", "duration_ms", "status_code", "response_excerpt", "error"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The delivery log: each event to each endpoint, its attempts, and "send
    again" (asks why; recorded in the audit log)."""

    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    list_filter = ["status", "endpoint", "event__type", "created_at"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["event__id"]
    inlines = [AttemptInline]
    readonly_fields = [
        "event",
        "event_type",
        "payload",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "retry_until",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    ]
    fields = readonly_fields
    actions = [
        reason_action(
            name="delivery_send_again",
            description=_("Send selected deliveries again"),
            apply=services.delivery_send_again,
            target="delivery",
            done=_("Sent again"),
            help_text=_("Recorded in the history, with who did it."),
            permissions=["send_again"],
        )
    ]

    @admin.display(description=_("Event type"), ordering="event__type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description=_("Payload"))
    def payload(self, obj):
        import json

        return format_html("<pre>{}</pre>", json.dumps(obj.event.payload, indent=2))

    def has_send_again_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.send_again_delivery")


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "type", "created_at"]
    list_filter = ["type", "created_at"]
    search_fields = ["id"]
    readonly_fields = ["id", "type", "payload", "once_key", "created_at"]
    fields = readonly_fields
