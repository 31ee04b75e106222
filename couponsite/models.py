import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` sent by one principal to one endpoint, and its answer.

    The unique constraint is what makes a retry safe: only one request can
    insert the row, every other one finds it and waits, fails or replays.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    owner = models.CharField(max_length=64)
    endpoint = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.IN_PROGRESS
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "endpoint", "key"], name="idempotency_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.endpoint} {self.key}"


class KeyNamespace(models.Model):
    """The one row naming this database's Redis keys (``couponsite.namespace``).

    A migration writes it with a random value, so a database that is reset or
    recreated gets a new one and meets none of the old database's keys.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    value = models.UUIDField(default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("key namespace")
        verbose_name_plural = _("key namespaces")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1), name="key_namespace_one_row"
            )
        ]

    def __str__(self) -> str:
        return str(self.value)


class AuditEntry(models.Model):
    """One back-office action on anything but a voucher: who did what to which
    object, why, and which fields it changed.

    Vouchers keep their own history (``VoucherEvent``, with its actor and
    reason); a voucher action is recorded there, not here. Rows are written by
    ``couponsite.audit.audit_record`` in the action's transaction, so an action
    that is refused or rolled back leaves none. The target is named like the
    admin's ``LogEntry`` names its object (content type, id and the text it
    had), so the row outlives it. ``acting_user`` is empty for what a
    management command or the demo data did: no person is known there.
    """

    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("acting user"),
    )
    action = models.CharField(
        _("action"),
        max_length=64,
        help_text=_('What was done, e.g. "campaign.status_changed".'),
    )
    target_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("target type"),
    )
    target_id = models.CharField(_("target id"), max_length=64)
    target_repr = models.CharField(
        _("target"), max_length=200, help_text=_("The target as it read then.")
    )
    target = GenericForeignKey("target_type", "target_id")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    changes = models.JSONField(
        _("changes"),
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text=_("Each changed field: [old, new] (old is null for a new object)."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        # The back office's own permissions, with no model of their own to sit on.
        permissions = [("export_csv", "Can export admin lists as CSV")]
        indexes = [
            models.Index(
                fields=["target_type", "target_id", "created_at"],
                name="audit_target_time",
            ),
            models.Index(fields=["acting_user", "created_at"], name="audit_user_time"),
        ]

    def __str__(self) -> str:
        return gettext("%(action)s %(target)s at %(when)s") % {
            "action": self.action,
            "target": self.target_repr,
            "when": f"{self.created_at:%Y-%m-%d %H:%M:%S}",
        }


class JobRun(models.Model):
    """A scheduled job's "done" mark for one key (``couponsite.background.once``).

    Jobs that must happen once per something (a campaign's local day, a rush
    day) insert their mark in the same transaction as their work; the unique
    constraint lets only one scheduler, worker or retry do it.
    """

    job = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    done_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-done_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "key"], name="job_run_once")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.key}"
