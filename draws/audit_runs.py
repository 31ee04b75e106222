"""One run of the invariant audit (``draws.invariants``), kept for the back office.

A module of its own beside ``draws.invariants``: that package reads every
model of ``draws.models``, which gathers this one."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditRun(models.Model):
    """When the audit ran, who started it, and what it found.

    Written by the nightly task (``draws.tasks.audit_invariants_nightly``) and
    by ``manage.py audit_invariants``; the back office's start page shows the
    latest (``templates/admin/_last_audit.html``).
    """

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        COMMAND = "command", _("Command")

    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    clean = models.BooleanField(
        _("clean"),
        default=False,
        help_text=_("Every rule held (and the audit finished)."),
    )
    breaches = models.PositiveIntegerField(_("breaches"), default=0)
    report = models.JSONField(
        _("report"),
        default=list,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text=_("Each rule: code, rule, checked, breach_count, breaches (rows)."),
    )
    error = models.TextField(
        _("error"),
        blank=True,
        help_text=_("Why the audit did not finish (empty if it did)."),
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("invariant audit run")
        verbose_name_plural = _("invariant audit runs")
        indexes = [models.Index(fields=["-started_at"], name="audit_run_latest")]

    def __str__(self) -> str:
        return _("%(trigger)s audit at %(at)s") % {
            "trigger": self.get_trigger_display(),
            "at": f"{self.started_at:%Y-%m-%d %H:%M:%S}",
        }
