import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from customers import demo as customers_demo
from customers import services as customer_services
from draws.claim import demo as claim_demo
from draws.draw import demo as draw_demo
from draws.rush import demo as rush_demo
from vouchers import demo as vouchers_demo

# Each mode's demo data lives in its room; every seeder is idempotent.
SEEDERS = [draw_demo.seed, vouchers_demo.seed, claim_demo.seed, rush_demo.seed]


class Command(BaseCommand):
    help = (
        "Seed demo data (idempotent): ten customers, a campaign of each kind, an "
        "admin whose fresh password is printed, and API tokens."
    )

    def add_arguments(self, parser):
        parser.add_argument("--admin-username", default="admin")
        parser.add_argument(
            "--admin-password",
            default=None,
            help="Default: a new random password on every run.",
        )

    @transaction.atomic
    def handle(self, *args, admin_username="admin", admin_password=None, **options):
        first_customer = customers_demo.seed()

        User = get_user_model()
        admin, _ = User.objects.get_or_create(
            username=admin_username, defaults={"email": "admin@example.com"}
        )
        password = admin_password or secrets.token_urlsafe(12)
        admin.is_staff = admin.is_superuser = admin.is_active = True
        admin.set_password(password)
        admin.save()
        staff_token = customer_services.token_create(user=admin, name="seed_demo")
        customer_token = customer_services.token_create(
            customer=first_customer, name="seed_demo"
        )

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"  {len(customers_demo.DEMO_CUSTOMERS)} demo customers (customer1..10@gmail.com)"
        )
        # The address gunicorn will serve on (make run sets BIND for both).
        site = f"http://{os.environ.get('BIND', '127.0.0.1:8000')}"
        self.stdout.write(f"  Admin:          {site}/admin/")
        self.stdout.write(f"  API docs:       {site}/api/docs/")
        self.stdout.write(f"  Admin username: {admin_username}")
        self.stdout.write(f"  Admin password: {password}")
        self.stdout.write(f"  Staff token:    {staff_token.key}")
        self.stdout.write(
            f"  Customer token: {customer_token.key}  ({first_customer.phone})"
        )
        for seed in SEEDERS:
            seed(self.stdout)
