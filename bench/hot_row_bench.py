"""Draws per second on one hot coupon type, its quota on 1 row or spread over N.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    TEST_DATABASE_NAME=test_cs_hot_rows \\
        .venv/bin/python -m bench.hot_row_bench --shards 1 8 --connections 64

A microbenchmark of the draw's transaction alone, no HTTP, no Redis: what
``draw_run`` does in the database for a winning roll, minus the coupon
(``_draw_insert``, then ``quota_take``, then COMMIT), on ``--connections``
threads with a Postgres connection each, for ``--draws`` distinct customers.
Every draw is sure to win and the quota is ``--quota`` (default: half the
draws, so the second half runs the "sold out" path). Each line gives draws per
second, the transaction's p50/p99, and how many connections were waiting on a
row lock (``pg_stat_activity``, sampled every 10 ms: mean and most), then
checks the units taken against the quota and the counters, and the shards
against the invariant audit's ``QUOTA_SHARES_MISMATCH`` rule. (The draws stay
lost: a won draw needs its coupon, which this leaves out.)

Python threads share one interpreter: on a small machine the client's CPU is
part of what is measured, the same for every N. Runs in a throwaway database
made and dropped as the test suite's are (``TEST_DATABASE_NAME``).
"""

import argparse
import os
import statistics
import sys
import threading
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--quota", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each N")
    args = parser.parse_args()

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        print(
            f"database {connection.settings_dict['NAME']}; {args.draws:,} sure-win "
            f"draws, quota {args.quota or args.draws // 2:,}, on "
            f"{args.connections} connections"
        )
        failed = False
        for _ in range(args.rounds):
            for shards in args.shards:
                failed |= not _run(args, shards)
        if failed:
            sys.exit(1)
    finally:
        connection.close()
        teardown_databases(databases, verbosity=0)


def _run(args, shards: int) -> bool:
    from decimal import Decimal

    from django.db import connection, connections, transaction
    from django.utils import timezone

    from campaigns.models import Campaign, CouponType
    from campaigns.quotas import quota_issued, quota_spread, quota_take
    from customers.models import Customer
    from draws.draw.models import Draw
    from draws.draw.services import _draw_insert
    from draws.invariants.quotas import quota_shares_add_up

    now = timezone.now()
    quota = args.quota or args.draws // 2
    stamp = time.time_ns()
    campaign = Campaign.objects.create(
        name=f"Hot {stamp}",
        slug=f"hot-{stamp}",
        kind=Campaign.Kind.DRAW,
        starts_at=now - timezone.timedelta(days=1),
        ends_at=now + timezone.timedelta(days=1),
    )
    coupon_type = CouponType.objects.create(
        campaign=campaign,
        name="Hot prize",
        benefit_kind=CouponType.Kind.AMOUNT,
        amount=Decimal(5),
        currency="USD",
        probability=1,
        total_quota=quota,
        quota_shards=shards,
    )
    if shards > 1:
        quota_spread(coupon_type=coupon_type)
    customers = list(
        Customer.objects.bulk_create(
            Customer(phone=f"+1{stamp % 10**6:06d}{n:05d}") for n in range(args.draws)
        )
    )
    day = campaign.local_day(now)
    database = connection.settings_dict["NAME"]

    next_customer = iter(customers)
    take_lock = threading.Lock()
    latencies: list[float] = []
    wins = [0]
    start = threading.Barrier(args.connections + 1)

    def worker() -> None:
        mine, won = [], 0
        try:
            start.wait()
            while True:
                with take_lock:
                    customer = next(next_customer, None)
                if customer is None:
                    break
                began = time.perf_counter()
                with transaction.atomic():
                    draw = Draw(
                        customer=customer,
                        campaign=campaign,
                        day=day,
                        coupon_type_id=coupon_type.pk,
                        roll=0.0,
                        odds=[[coupon_type.pk, 1.0]],
                        created_at=now,
                    )
                    draw.pk = _draw_insert(draw)
                    won += quota_take(coupon_type_id=coupon_type.pk, day=day)
                mine.append(time.perf_counter() - began)
        finally:
            connections.close_all()
            with take_lock:
                latencies.extend(mine)
                wins[0] += won

    waiting: list[int] = []
    stop = threading.Event()

    def sampler() -> None:
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND wait_event_type = 'Lock'"
        )
        try:
            with connection.cursor() as cursor:
                while not stop.is_set():
                    cursor.execute(sql, [database])
                    waiting.append(cursor.fetchone()[0])
                    time.sleep(0.01)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    watcher = threading.Thread(target=sampler)
    start.wait()
    began = time.perf_counter()
    watcher.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    stop.set()
    watcher.join()

    latencies.sort()
    issued = quota_issued([coupon_type.pk])[coupon_type.pk].total
    drawn = Draw.objects.filter(campaign=campaign).count()
    breaches = {"QUOTA_SHARES_MISMATCH": quota_shares_add_up(now=now).breach_count}
    right = wins[0] == issued == quota and drawn == args.draws
    right = right and not any(breaches.values())
    print(
        f"N={shards:>2}: {len(latencies) / seconds:7.0f} draws/s "
        f"({len(latencies):,} in {seconds:.2f} s); "
        f"p50 {1000 * latencies[len(latencies) // 2]:.1f} ms, "
        f"p99 {1000 * latencies[int(len(latencies) * 0.99)]:.1f} ms; "
        f"waiting on a row lock: mean {statistics.fmean(waiting or [0]):.1f}, "
        f"most {max(waiting or [0])} of {args.connections}; "
        f"wins {wins[0]:,} = quota {quota:,} = issued {issued:,}: "
        f"{'ok' if right else 'WRONG'} {breaches if not right else ''}".rstrip()
    )
    return right


if __name__ == "__main__":
    main()
