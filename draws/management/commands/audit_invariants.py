import json

from django.core.management.base import BaseCommand, CommandError

from draws.invariants import (
    DEFAULT_LIMIT,
    AuditRun,
    audit_invariants,
    audit_invariants_record,
)


class Command(BaseCommand):
    help = (
        "Check every rule the product promises (quotas, once a day, one holder "
        "per coupon, rush counters, quota counters, history) against the rows; "
        "print each breach and exit non-zero if there is any. Reads only the "
        "rows it checks; the run's result is kept for the back office's start "
        "page (an AuditRun) unless --no-record."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", help="Print a machine-readable report."
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=DEFAULT_LIMIT,
            help=f"Breaches listed per rule, at most (default {DEFAULT_LIMIT}); "
            "all are counted.",
        )
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="Do not keep this run's result (the back office shows the last kept).",
        )

    def handle(self, *args, **options):
        limit = max(0, options["limit"])
        if options["no_record"]:
            results = audit_invariants(limit=limit)
        else:
            _, results = audit_invariants_record(
                trigger=AuditRun.Trigger.COMMAND, limit=limit
            )
        breaches = sum(result.breach_count for result in results)
        if options["json"]:
            report = {
                "ok": breaches == 0,
                "breaches": breaches,
                "rules": [result.as_dict() for result in results],
            }
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            for result in results:
                for breach in result.breaches:
                    self.stdout.write(
                        f"{breach.code}: {breach.message} "
                        f"{json.dumps(breach.rows, default=str)}"
                    )
            for result in results:
                line = (
                    f"{result.code:<24} {result.rule}: checked {result.checked}, "
                    f"breaches {result.breach_count}"
                )
                style = self.style.ERROR if result.breach_count else self.style.SUCCESS
                self.stdout.write(style(line))
        if breaches:
            raise CommandError(f"{breaches} invariant breaches.", returncode=1)
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS("Every invariant holds."))
