"""How long releasing a batch of coupons takes (``batch_release``), on the configured database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponsite .venv/bin/python bench/release_bench.py
    … --count 1000000 --runs 1      # a million, in 10,000-row INSERTs

Everything runs inside a transaction that is rolled back at the end: the
database is left as it was (apart from dead rows for autovacuum). Each run
releases ``--count`` coupons into a throwaway claim campaign and is timed from
the call to the return of ``batch_release`` (codes generated, rows inserted,
history written; not the final COMMIT, which the rollback replaces).
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

import django
from django.db import connection, transaction
from django.utils import timezone

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=None)
    args = parser.parse_args()

    django.setup()
    # The project's modules import models: only once Django is set up.
    from campaigns.models import Campaign
    from campaigns.services import campaign_create
    from draws.claim.releases import RELEASE_CHUNK_SIZE, batch_release

    chunk_size = args.chunk_size or RELEASE_CHUNK_SIZE
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}; "
        f"releasing {args.count:,} coupons x {args.runs} runs, "
        f"{chunk_size:,} rows per INSERT"
    )
    timings = []
    try:
        with transaction.atomic():
            now = timezone.now()
            campaign = campaign_create(
                acting_user=None,
                name="release bench",
                slug=f"release-bench-{os.getpid()}",
                kind=Campaign.Kind.CLAIM,
                timezone="UTC",
                starts_at=now,
                ends_at=now + dt.timedelta(days=1),
                coupon_types=[{"name": "bench", "percent": 10}],
            )
            coupon_type = campaign.coupon_types.get()
            for run in range(args.runs):
                started = time.perf_counter()
                batch_release(
                    acting_user=None,
                    coupon_type=coupon_type,
                    count=args.count,
                    chunk_size=chunk_size,
                )
                timings.append(time.perf_counter() - started)
                print(
                    f"  run {run + 1}: {timings[-1]:.3f} s "
                    f"({args.count / timings[-1]:,.0f} coupons/s)"
                )
            raise _Rollback
    except _Rollback:
        pass
    best, median = min(timings), statistics.median(timings)
    print(
        f"{args.count:,} coupons: median {median:.3f} s, best {best:.3f} s "
        f"({args.count / median:,.0f} coupons/s at the median)"
    )


if __name__ == "__main__":
    main()
