"""A message to a customer: one row per text message or email, from the moment
the effect that causes it commits until the provider took it (or we gave up)."""

import re

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Kinds whose body holds a code that signs in (or proves a mailbox): staff never
# read it (a staff member with the code could act as the customer), and once the
# message is sent the code is blanked in the row as well.
SECRET_KINDS = frozenset({"sign_in_code", "email_code"})
_DIGITS = re.compile(r"\d{4,}")


def masked(text: str) -> str:
    """``text`` with every run of 4 or more digits (a code) blanked."""
    return _DIGITS.sub(lambda match: "•" * len(match.group(0)), text)


class Message(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", _("text message")
        EMAIL = "email", _("email")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254, db_index=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"))
    html_body = models.TextField(_("html body"), blank=True)
    # What the message is for: sign_in_code, email_code, win_notice, voucher_code…
    kind = models.SlugField(_("kind"), max_length=40)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # Pending: not to be sent before then (a retry's backoff). Sending: the end of
    # the worker's lease, after which the sweeper takes it as lost.
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    created_at = models.DateTimeField(
        _("created at"), default=timezone.now, db_index=True
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's and the back office's "still on its way" rows.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="message_unsent_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(
                fields=["status", "-created_at"],
                name="message_status_created_idx",
            ),
        ]
        permissions = [("resend_message", "Can send a message again")]

    def __str__(self) -> str:
        return gettext("%(channel)s #%(id)s to %(recipient)s (%(kind)s)") % {
            "channel": self.get_channel_display(),
            "id": self.pk,
            "recipient": self.recipient,
            "kind": self.kind,
        }

    @property
    def is_secret(self) -> bool:
        return self.kind in SECRET_KINDS

    @property
    def body_for_staff(self) -> str:
        return masked(self.body) if self.is_secret else self.body
