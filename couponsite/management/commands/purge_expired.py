from django.core.management.base import BaseCommand

from couponsite.retention import PURGES


class Command(BaseCommand):
    help = (
        "Purge every record past its retention, as the schedule does: sign-in "
        "codes, Idempotency-Key records, finished webhook deliveries "
        "(RETENTION_* settings; docs/operations.md, 'What is kept, and for how "
        "long'). Safe to run at any time, and twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--only",
            action="append",
            choices=sorted(PURGES),
            help="Run only this purge (repeatable).",
        )

    def handle(self, *args, only=None, **options):
        for name, purge in PURGES.items():  # in registration order
            if only and name not in only:
                continue
            deleted = purge()
            self.stdout.write(f"{name}: purged {deleted}")
