"""Seed 001's offers for ``manage.py seed_demo``."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from customers.demo import DEMO_CUSTOMERS
from vouchers.models import Offer
from vouchers.services import vouchers_generate

OFFERS = [("KOI", Decimal("22.10")), ("Welcome 10", Decimal(10))]


def seed(stdout) -> None:
    """Seed 001's offers, with one voucher of each for the ten demo customers."""
    emails = [email for _, email, _ in DEMO_CUSTOMERS]
    for name, discount in OFFERS:
        if not Offer.objects.filter(name=name).exists():
            vouchers_generate(
                acting_user=None,
                emails=emails,
                offer_name=name,
                discount=discount,
                expires_at=timezone.now() + dt.timedelta(days=60),
            )
    stdout.write(
        f"  Voucher pool:   offers {', '.join(n for n, _ in OFFERS)}; a voucher of each "
        "for customer1..10@gmail.com"
    )
