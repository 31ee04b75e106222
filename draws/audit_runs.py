"""One run of the invariant audit (``draws.invariants``), kept for the back office.

A module of its own beside ``draws.invariants``: that package reads every
model of ``draws.models``, which gathers this one."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AuditRun(models.Model):
    """When the audit ran, who started it, and what it found.

    Written by the nightly task (``draws.tasks.audit_invariants_nightly``) and
    by ``manage.py audit_invariants``; the back office's start page shows the
    latest (``templates/admin/_last_audit.html``).
    """

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        COMMAND = "command", "Command"

    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    clean = models.BooleanField(
        default=False, help_text="Every rule held (and the audit finished)."
    )
    breaches = models.PositiveIntegerField(default=0)
    report = models.JSONField(
        default=list,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="Each rule: code, rule, checked, breach_count, breaches (rows).",
    )
    error = models.TextField(
        blank=True, help_text="Why the audit did not finish (empty if it did)."
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "invariant audit run"
        indexes = [models.Index(fields=["-started_at"], name="audit_run_latest")]

    def __str__(self) -> str:
        return (
            f"{self.get_trigger_display()} audit at {self.started_at:%Y-%m-%d %H:%M:%S}"
        )
