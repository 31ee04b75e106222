"""Messages to customers in the back office: read-only, failed ones one click away,
"send again" with a reason (Support).

Sign-in and email codes are never shown to staff (a staff member with a live
code could sign in as the customer): their body is masked on every page, and
blanked in the row once sent (``messaging.services.message_deliver``).
"""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from couponsite.admin_actions import reason_action
from couponsite.admin_mixins import ReadOnlyAdminMixin
from messaging.models import Message
from messaging.services import message_resend


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "channel",
        "kind",
        "recipient",
        "status_shown",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "kind", "created_at"]
    # Exact matches only: the recipient's index, no scan of the table.
    search_fields = ["=recipient"]
    search_help_text = _("An exact phone number (+14155550123) or email.")
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    fields = [
        "channel",
        "kind",
        "recipient",
        "subject",
        "body_shown",
        "html_shown",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    ]
    readonly_fields = fields
    actions = [
        reason_action(
            name="message_resend",
            description=_("Send the selected messages again"),
            apply=message_resend,
            target="message",
            done=_("Queued again"),
            help_text=_(
                "Why send it again (e.g. the provider is back). Recorded in the "
                "history, with who did it."
            ),
            permissions=["resend"],
        )
    ]

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("messaging.resend_message")

    @admin.display(description=_("status"), ordering="status")
    def status_shown(self, message: Message) -> str:
        if message.status == Message.Status.FAILED:
            return format_html(
                '<strong class="message-failed" title="{}">{}</strong>',
                message.last_error,
                message.get_status_display(),
            )
        return message.get_status_display()

    @admin.display(description=_("text"))
    def body_shown(self, message: Message) -> str:
        return message.body_for_staff

    @admin.display(description=_("HTML"))
    def html_shown(self, message: Message) -> str:
        if not message.html_body:
            return "—"
        length = len(message.html_body)
        if message.is_secret:
            return ngettext(
                "%(count)d character of HTML (masked: holds a code)",
                "%(count)d characters of HTML (masked: holds a code)",
                length,
            ) % {"count": length}
        return ngettext(
            "%(count)d character of HTML", "%(count)d characters of HTML", length
        ) % {"count": length}
