"""The invariant audit's runs in the back office: read-only, newest first."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

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

    @admin.display(description=_("result"), ordering="clean", boolean=False)
    def result(self, run: AuditRun) -> str:
        if run.error:
            return gettext("did not finish")
        if run.clean:
            return gettext("clean")
        return ngettext("%(count)s breach", "%(count)s breaches", run.breaches) % {
            "count": run.breaches
        }

    @admin.display(description=_("rules"))
    def rules(self, run: AuditRun):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    rule["code"],
                    _rule_text(rule),
                    rule["checked"],
                    rule["breach_count"],
                )
                for rule in run.report
            ),
        )
        return format_html(
            '<table class="audit-rules"><thead><tr><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            gettext("code"),
            gettext("rule"),
            gettext("checked"),
            gettext("breaches"),
            rows,
        )

    @admin.display(description=_("report (each rule's breaches, with their rows)"))
    def report_json(self, run: AuditRun):
        """Each rule (its code and text) and its breaches as the audit kept them:
        the rows as JSON, data as they are."""
        return format_html_join(
            "",
            '<div class="audit-report"><p><code>{}</code> {}</p>{}</div>',
            (
                (
                    rule["code"],
                    _rule_text(rule),
                    format_html(
                        '<pre class="audit-breaches">{}</pre>',
                        json.dumps(rule["breaches"], indent=2),
                    )
                    if rule.get("breaches")
                    else format_html("<p>{}</p>", gettext("No breaches.")),
                )
                for rule in run.report
            ),
        )


def _rule_text(rule: dict) -> str:
    """The rule's text in the page's language. The report keeps it in English;
    each rule marks its text with gettext_noop, so the catalogue has it."""
    return gettext(rule["rule"]) if rule.get("rule") else ""
