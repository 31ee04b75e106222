"""Demo customers for ``manage.py seed_demo``."""

from customers.models import Customer

# The ten customers of seed 001 (voucher pool), with fictional 555-01xx numbers.
DEMO_CUSTOMERS = [
    (f"+1415555{100 + n:04d}", f"customer{n}@gmail.com", f"Customer {n}")
    for n in range(1, 11)
]


def seed() -> Customer:
    """The ten demo customers (idempotent); the first, whose token is printed."""
    for phone, email, name in DEMO_CUSTOMERS:
        Customer.objects.update_or_create(
            phone=phone, defaults={"email": email, "name": name}
        )
    return Customer.objects.get(phone=DEMO_CUSTOMERS[0][0])
