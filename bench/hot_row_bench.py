"""Draws per second on one hot coupon type, its quota on 1 row or spread over N.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
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
part of what is measured, the same for every N, and it holds each row lock
for its Python time too. ``--pgbench SECONDS`` runs the same transaction from
pgbench instead (C clients, ``--connections`` of them, 2 threads): the draw's
``INSERT`` and the very ``UPDATE`` ``quota_take`` sends (``campaigns.quotas``'
SQL): for N = 1 the type row's ``UPDATE``; for N > 1 what a free shard
costs: that ``UPDATE`` (which takes nothing), the state, and in a savepoint the
take from a random shard (queueing behind its holder); with a quota no run
can spend (pgbench cannot retry on a spent shard; that path is what the
Python run measures).

Runs in a throwaway database made and dropped as the test suite's are:
``couponsite_hot_row_bench`` unless ``TEST_DATABASE_NAME`` names another.
"""

import argparse
import os
import statistics
import sys
import threading
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")
# A database of its own: never the test suite's (setup_databases drops one it finds).
os.environ.setdefault("TEST_DATABASE_NAME", "couponsite_hot_row_bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--quota", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each N")
    parser.add_argument(
        "--pgbench",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run the transaction from pgbench for this long instead",
    )
    args = parser.parse_args()

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        what = (
            f"pgbench for {args.pgbench:g} s"
            if args.pgbench
            else f"{args.draws:,} sure-win draws, quota "
            f"{args.quota or args.draws // 2:,}"
        )
        print(
            f"database {connection.settings_dict['NAME']}; {what}, on "
            f"{args.connections} connections"
        )
        failed = False
        for _ in range(args.rounds):
            for shards in args.shards:
                run = _run_pgbench if args.pgbench else _run
                failed |= not run(args, shards)
        if failed:
            sys.exit(1)
    finally:
        connection.close()
        teardown_databases(databases, verbosity=0)


def _run(args, shards: int) -> bool:

    from django.db import connection, connections, transaction
    from django.utils import timezone

    from campaigns.quotas import quota_issued, quota_take
    from customers.models import Customer
    from draws.draw.models import Draw
    from draws.draw.services import _draw_insert
    from draws.invariants.quotas import quota_shares_add_up

    quota = args.quota or args.draws // 2
    campaign, coupon_type = _hot_type(shards, quota)
    now, stamp = timezone.now(), time.time_ns()
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


def _hot_type(shards: int, quota: int | None):
    """A running draw campaign with one sure-win type on ``shards`` rows."""
    from decimal import Decimal

    from django.utils import timezone

    from campaigns.models import Campaign, CouponType
    from campaigns.quotas import quota_spread

    now = timezone.now()
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
    return campaign, coupon_type


def _run_pgbench(args, shards: int) -> bool:
    import re
    import subprocess
    import tempfile

    from django.db import connection
    from django.db.models import Max, Min

    from campaigns.quotas import _sql, quota_issued
    from customers.models import Customer
    from draws.draw.models import Draw

    quota = 2_000_000_000  # never spent in a run
    campaign, coupon_type = _hot_type(shards, quota)
    first = Customer.objects.count()
    Customer.objects.bulk_create(
        Customer(phone=f"+1999{n:07d}") for n in range(first, first + 200_000)
    )
    bounds = Customer.objects.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = bounds["low"], bounds["high"]
    day = f"'{campaign.local_day().isoformat()}'"
    sql = {
        name: " ".join(
            statement.replace("%(day)s", day)
            .replace("%(id)s", str(coupon_type.pk))
            .split()
        )
        + ";"
        for name, statement in _sql().items()
    }
    # What quota_take sends when a unit is free: the type row's UPDATE; for
    # a sharded type, then the state and, in a savepoint, a random shard's.
    take = [sql["type_take"]]
    if shards > 1:
        take += [
            sql["state"],
            f"\\set slot random(0, {shards - 1})",
            "SAVEPOINT take;",
            sql["shard_take"].replace("%(slot)s", ":slot"),
            "RELEASE SAVEPOINT take;",
        ]
    script = "\n".join(
        [
            f"\\set customer random({low}, {high})",
            "BEGIN;",
            "INSERT INTO draws_draw (customer_id, campaign_id, day, won, "
            "coupon_type_id, roll, odds, created_at) VALUES (:customer, "
            f"{campaign.pk}, {day}, FALSE, {coupon_type.pk}, 0, '[]', now()) "
            "ON CONFLICT (customer_id, campaign_id, day) DO NOTHING;",
            *take,
            "END;",
        ]
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script + "\n")
    settings = connection.settings_dict
    done = subprocess.run(
        [
            "pgbench",
            "-n",
            "-f",
            file.name,
            "-c",
            str(args.connections),
            "-j",
            "2",
            "-T",
            str(round(args.pgbench)),
            "-h",
            settings["HOST"] or "127.0.0.1",
            "-p",
            str(settings["PORT"] or 5432),
            "-U",
            settings["USER"],
            settings["NAME"],
        ],
        capture_output=True,
        text=True,
    )
    found = dict(
        re.findall(
            r"^(tps|latency average|number of failed transactions)\D*?([\d.]+)",
            done.stdout,
            re.M,
        )
    )
    issued = quota_issued([coupon_type.pk])[coupon_type.pk].total
    drawn = Draw.objects.filter(campaign=campaign).count()
    right = done.returncode == 0 and issued > 0
    print(
        f"N={shards:>2} (pgbench, {args.connections} clients, {args.pgbench:g} s): "
        f"{float(found.get('tps', 0)):7.0f} draws/s, "
        f"{issued / args.pgbench:7.0f} units taken/s; latency average "
        f"{found.get('latency average', '?')} ms; {drawn:,} draws, "
        f"{issued:,} units taken: {'ok' if right else 'WRONG'}"
    )
    if not right:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    return right


if __name__ == "__main__":
    main()
