"""Peak memory of the admin's "Export all matching (CSV)" over many vouchers.

    createdb -h 127.0.0.1 -U postgres couponsite_export
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponsite_export \
    .venv/bin/python manage.py migrate -v0
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponsite_export \
    .venv/bin/python docs/profiles/export_memory.py 1000000

Fills the database up to N vouchers (one INSERT … SELECT generate_series),
then, as a signed-in superuser through Django's test client, exports the first
N/10 and then all N through the admin's export URL, reading the stream to its
end. The process's peak resident memory (ru_maxrss) is printed before and
after each: a streamed export keeps it flat, a list in memory would grow with N.
"""

import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.models import Campaign, CouponType  # noqa: E402
from campaigns.services import campaign_create  # noqa: E402
from vouchers.models import Voucher  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(count: int) -> None:
    have = Voucher.objects.count()
    if have >= count:
        return
    coupon_type = CouponType.objects.filter(campaign__slug="export-memory").first()
    if coupon_type is None:
        now = timezone.now()
        campaign = campaign_create(
            acting_user=None,
            name="Export memory",
            slug="export-memory",
            kind=Campaign.Kind.DRAW,
            timezone="UTC",
            starts_at=now,
            ends_at=now + timezone.timedelta(days=365),
            coupon_types=[
                {
                    "name": "$5 off",
                    "benefit_kind": "amount",
                    "amount": 5,
                    "currency": "USD",
                    "probability": 0.5,
                }
            ],
        )
        coupon_type = campaign.coupon_types.get()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO vouchers_voucher (code, status, campaign_id, coupon_type_id,
                email, benefit_kind, amount, currency, free_item, order_ref,
                issued_at, expires_at, created_at)
            SELECT 'EXP' || lpad(g::text, 9, '0'), 'issued', %s, %s, '', 'amount',
                5, 'USD', '', '', now(), now() + interval '30 days', now()
            FROM generate_series(%s, %s) AS g
            """,
            [coupon_type.campaign_id, coupon_type.pk, have + 1, count],
        )


def export(client: Client, query: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    response = client.get(f"/admin/vouchers/voucher/export/?{query}")
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    return lines - 1, size, time.perf_counter() - started


def main(count: int) -> None:
    fill(count)
    user, _ = get_user_model().objects.get_or_create(
        username="export-memory", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    first = Voucher.objects.order_by("pk").values_list("pk", flat=True)[count // 10]
    print(f"peak RSS before exporting: {peak_mib():.0f} MiB")
    for query in [f"id__lt={first}", ""]:
        rows, size, seconds = export(client, query)
        print(
            f"exported {rows:,} rows ({size / 2**20:.0f} MiB of CSV) in {seconds:.1f} s;"
            f" peak RSS now {peak_mib():.0f} MiB"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
