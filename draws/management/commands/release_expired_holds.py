from django.core.management.base import BaseCommand

from draws.claim.services import holds_release_expired


class Command(BaseCommand):
    help = (
        "Put claimed coupons whose hold ran out back in the pool and record each "
        "expiry (idempotent; for cron — claims never wait for it)."
    )

    def handle(self, *args, **options):
        released = holds_release_expired()
        self.stdout.write(f"Released {released} expired holds.")
