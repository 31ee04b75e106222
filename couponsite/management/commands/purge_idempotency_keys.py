from django.core.management.base import BaseCommand

from couponsite.api.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Key records older than RETENTION_IDEMPOTENCY "
        "(the schedule runs it hourly: couponsite.tasks; purge_expired runs "
        "every purge)."
    )

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        self.stdout.write(f"Deleted {deleted} expired idempotency keys.")
