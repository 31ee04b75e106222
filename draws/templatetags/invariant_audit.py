"""The start page's line about the invariant audit (``admin/_last_audit.html``)."""

from django import template

from draws.audit_runs import AuditRun

register = template.Library()


@register.simple_tag
def last_audit_run() -> AuditRun | None:
    """The latest run of the invariant audit, if any (without its report)."""
    return AuditRun.objects.defer("report").order_by("-started_at", "-id").first()
