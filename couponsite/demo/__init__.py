"""Demo data for ``manage.py seed_demo``: one module per mode, each with ``seed(stdout)``.

Each seeder is idempotent: running seed_demo twice leaves one of everything.
"""

SEEDERS = [
    "couponsite.demo.draw.seed",
    "couponsite.demo.vouchers.seed",
    "couponsite.demo.claim.seed",
    "couponsite.demo.rush.seed",
]
