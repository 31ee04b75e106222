from django.core.management.base import BaseCommand

from draws.draw.fairness import draw_seeds_prepare


class Command(BaseCommand):
    help = (
        "Make today's and tomorrow's seed of every draw campaign that may still "
        "run (its hash is published before the day's first draw). The schedule "
        "runs it every quarter hour; safe to run again or at once."
    )

    def handle(self, *args, **options):
        days = draw_seeds_prepare()
        self.stdout.write(f"{days} campaign days have their seed.")
