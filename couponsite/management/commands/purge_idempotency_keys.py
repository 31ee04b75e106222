from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from couponsite.models import IdempotencyKey


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_SECONDS (for cron)."

    def handle(self, *args, **options):
        cutoff = timezone.now() - timedelta(
            seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS
        )
        deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"Deleted {deleted} expired idempotency keys.")
