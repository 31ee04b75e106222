from django.core.management.base import BaseCommand

from couponsite.api.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_SECONDS "
        "(the schedule runs it hourly: couponsite.tasks)."
    )

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        self.stdout.write(f"Deleted {deleted} expired idempotency keys.")
