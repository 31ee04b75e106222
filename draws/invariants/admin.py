"""The invariant audit's runs in the back office: read-only, newest first."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from couponsite.admin_mixins import ReadOnlyAdminMixin
from draws.audit_runs import AuditRun


@admin.register(AuditRun)
class AuditRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every run of the audit (nightly by the schedule, or by the command)."""

    list_display = ["started_at", "trigger", "result", "breaches", "finished_at"]
    list_filter = ["trigger", "clean", "started_at"]
    date_hierarchy = "started_at"
    fields = [
        "started_at",
        "finished_at",
        "trigger",
        "result",
        "breaches",
        "rules",
        "error",
        "report_json",
    ]
    readonly_fields = ["result", "rules", "report_json"]

    @admin.display(description="result", ordering="clean", boolean=False)
    def result(self, run: AuditRun) -> str:
        if run.error:
            return "did not finish"
        return "clean" if run.clean else f"{run.breaches} breaches"

    @admin.display(description="rules")
    def rules(self, run: AuditRun):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (rule["code"], rule["rule"], rule["checked"], rule["breach_count"])
                for rule in run.report
            ),
        )
        return format_html(
            '<table class="audit-rules"><thead><tr><th>code</th><th>rule</th>'
            "<th>checked</th><th>breaches</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="report (each rule's breaches, with their rows)")
    def report_json(self, run: AuditRun):
        return format_html(
            '<pre class="audit-report">{}</pre>', json.dumps(run.report, indent=2)
        )
