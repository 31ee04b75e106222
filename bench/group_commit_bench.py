"""Reservations and grabs per second: the rush's group commit against one request at a time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_DATABASE_NAME=test_cs_gc_bench \\
        .venv/bin/python bench/group_commit_bench.py
    … --customers 3000 --concurrency 300 --threads 4 --window 0.002

A microbenchmark of the write alone, no HTTP: ``rush_reserve`` (and
``_grab_write``, the Postgres half of a Redis grab) on ``--threads`` threads
with a connection each, as Django's threads run them, against the group
committer (``couponsite.group_commit``, the rush's writers) fed by ``--concurrency``
coroutines in one event loop (uvloop), as one worker's connections would.
Each line gives the rate, this process's CPU and Postgres's CPU per request
(read from /proc), and for the committer its transactions.

Runs in a throwaway database made and dropped as the test suite's are
(``TEST_DATABASE_NAME``); nothing else is touched. Keep runs short on a shared
machine.
"""

import argparse
import asyncio
import datetime as dt
import os
import sys
import threading
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--one-by-one",
        type=int,
        default=600,
        help="how many go through rush_reserve and _grab_write (they are slow)",
    )
    parser.add_argument("--window", type=float, nargs="*", default=[0.0, 0.002])
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="let the committer's connection prepare its statements "
        "(RUSH_GROUP_COMMIT_PREPARE)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=2000,
        help="also send to the committer at this steady rate (requests/s; 0: no)",
    )
    args = parser.parse_args()

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        print(
            f"database {connection.settings_dict['NAME']}; {args.customers:,} "
            f"customers; rush_reserve on {args.threads} threads, the committer "
            f"from {args.concurrency} coroutines"
        )
        _bench(args)
    finally:
        connection.close()
        teardown_databases(databases, verbosity=0)


def _bench(args) -> None:
    from decimal import Decimal

    import uvloop
    from django.db import connection, connections, transaction

    from bench.scenarios import CpuMeter, Parties, local_noon_zone
    from campaigns.models import Campaign, CouponType
    from campaigns.services import campaign_create
    from couponsite.group_commit import GroupCommitter
    from customers.models import Customer
    from draws.rush.models import Grab, Reservation
    from draws.rush.services import rush_reserve
    from draws.rush.services.common import rush_coupon_type, rush_cycle_at
    from draws.rush.services.grab import _grab_write
    from draws.rush.services.group_commit import grab_submit, reservation_submit
    from vouchers.models import Voucher

    now = dt.datetime.now(dt.UTC)
    meter_parties = Parties(
        server_pid=os.getpid(), database=connection.settings_dict["NAME"]
    )
    made = 0

    zone = local_noon_zone()

    def campaign(ratio=Decimal("0.2")):
        """A rush taking reservations now (it is about noon in its zone)."""
        nonlocal made
        made += 1
        rush = campaign_create(
            acting_user=None,
            name=f"bench {made}",
            slug=f"bench-{made}",
            kind=Campaign.Kind.RUSH,
            timezone=zone,
            starts_at=now - dt.timedelta(days=1),
            ends_at=now + dt.timedelta(days=1),
            ratio=ratio,
            coupon_types=[
                {
                    "name": "Prize",
                    "benefit_kind": CouponType.Kind.PERCENT,
                    "percent": 10,
                }
            ],
        )
        local = rush.local_now(now)
        rush.reservation_opens = (local - dt.timedelta(minutes=30)).time()
        rush.reservation_closes = (local + dt.timedelta(minutes=30)).time()
        rush.rush_opens = (local + dt.timedelta(minutes=31)).time()
        rush.rush_closes = (local + dt.timedelta(minutes=32)).time()
        rush.save()
        return rush

    def people():
        start = Customer.objects.count()
        return Customer.objects.bulk_create(
            Customer(phone=f"+1415{start + n:07d}") for n in range(args.customers)
        )

    def report(label, seconds, count, cpu, extra=""):
        print(
            f"  {label:<42} {count / seconds:>8,.0f}/s   app "
            f"{cpu['gunicorn'] * 1000 / count:.3f} ms   postgres "
            f"{cpu['postgres'] * 1000 / count:.3f} ms   {extra}"
        )

    def measured(run):
        """(seconds, CPU by party, result) of ``run(done)``, which calls ``done()``
        when the work is over but before its connections close (a backend that
        exits takes its CPU figures with it)."""
        meter = CpuMeter(meter_parties)
        meter.sample()
        started = time.perf_counter()
        measure = {}

        def done():
            measure["seconds"] = time.perf_counter() - started
            measure["cpu"] = meter.sample()

        result = run(done)
        return measure["seconds"], measure["cpu"], result

    def on_threads(work, items):
        def run(done):
            chunks = [items[i :: args.threads] for i in range(args.threads)]
            finished = threading.Barrier(args.threads + 1)
            measured_ = threading.Event()

            def worker(chunk):
                try:
                    for item in chunk:
                        work(item)
                finally:
                    finished.wait()
                    measured_.wait()
                    connections.close_all()

            threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
            for thread in threads:
                thread.start()
            finished.wait()
            done()
            measured_.set()
            for thread in threads:
                thread.join()

        return run

    def committed(submit, items, window, rate=0.0):
        """Send ``items`` to a committer: from ``--concurrency`` clients each sending
        its next as soon as it is answered, or (``rate``) at a steady rate."""

        def run(done=lambda: None):
            async def main():
                committer = GroupCommitter(
                    window=window, prepare=True if args.prepare else None
                )
                loop = asyncio.get_running_loop()
                latencies = []

                async def one(item):
                    sent = time.perf_counter()
                    await submit(committer, item)
                    latencies.append(time.perf_counter() - sent)

                if rate:
                    start, sent = loop.time(), []
                    for i, item in enumerate(items):
                        if (ahead := start + i / rate - loop.time()) > 0:
                            await asyncio.sleep(ahead)
                        sent.append(asyncio.ensure_future(one(item)))
                    await asyncio.gather(*sent)
                else:
                    queue = list(reversed(items))

                    async def client():
                        while queue:
                            await one(queue.pop())

                    await asyncio.gather(*(client() for _ in range(args.concurrency)))
                done()
                await committer.aclose()
                latencies.sort()
                return committer.stats, latencies

            return uvloop.run(main())

        return run

    def batch_note(result):
        stats, latencies = result
        return (
            f"{stats.committed_items / max(stats.transactions, 1):.1f} a batch "
            f"({stats.largest_batch} at most); answered in "
            f"{latencies[len(latencies) // 2] * 1000:.1f} ms p50, "
            f"{latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms p99"
        )

    def committer_runs(submit, items_for):
        plans = [(window, 0.0) for window in args.window]
        if args.rate:
            plans += [(window, args.rate) for window in args.window]
        for window, rate in plans:
            items = items_for()
            seconds, cpu, result = measured(committed(submit, items, window, rate))
            how = f"at {rate:,.0f}/s" if rate else f"{args.concurrency} clients"
            report(
                f"group commit, {how}, window {window * 1000:g} ms",
                seconds,
                len(items),
                cpu,
                batch_note(result),
            )

    print("reservations")
    rush = campaign()
    day = rush_cycle_at(rush, now).day
    customers = people()
    some = customers[: args.one_by_one]
    seconds, cpu, _ = measured(
        on_threads(lambda c: rush_reserve(campaign=rush, customer=c, now=now), some)
    )
    report(f"rush_reserve, {args.threads} threads", seconds, len(some), cpu)
    rushes = []

    def fresh_rush():
        rushes.append(campaign())
        return customers

    async def reserve(committer, customer):
        await reservation_submit(
            committer,
            campaign_id=rushes[-1].pk,
            day=day,
            customer_id=customer.pk,
            now=now,
        )

    committer_runs(reserve, fresh_rush)

    print("grabs (coupons popped by Redis: the Postgres write and its answer)")

    def winners(rush):
        reserved = dict(
            Reservation.objects.filter(campaign=rush).values_list("customer", "id")
        )
        free = Voucher.objects.filter(campaign=rush).values_list("id", flat=True)
        return [
            (customer, reserved[customer], voucher)
            for customer, voucher in zip(sorted(reserved), free, strict=False)
        ]

    def reserved_rush():
        rush = campaign(ratio=Decimal(1))

        async def reserve(committer, customer):
            await reservation_submit(
                committer,
                campaign_id=rush.pk,
                day=day,
                customer_id=customer.pk,
                now=now,
            )

        committed(reserve, customers, 0.0)()
        return rush

    rush = reserved_rush()
    coupon_type = rush_coupon_type(rush)
    by_id = {customer.pk: customer for customer in customers}

    def grab_write(winner):
        customer_id, reservation_id, voucher_id = winner
        with transaction.atomic():
            _grab_write(
                campaign=rush,
                coupon_type=coupon_type,
                customer=by_id[customer_id],
                day=day,
                reservation_id=reservation_id,
                voucher_id=voucher_id,
                via=Grab.Via.REDIS,
                now=now,
            )

    todo = winners(rush)[: args.one_by_one]
    seconds, cpu, _ = measured(on_threads(grab_write, todo))
    report(f"_grab_write, {args.threads} threads", seconds, len(todo), cpu)
    grab_rushes = []

    def fresh_winners():
        grab_rushes.append(reserved_rush())
        return winners(grab_rushes[-1])

    async def grab(committer, winner):
        customer_id, reservation_id, voucher_id = winner
        await grab_submit(
            committer,
            campaign_id=grab_rushes[-1].pk,
            day=day,
            customer_id=customer_id,
            reservation_id=reservation_id,
            voucher_id=voucher_id,
            now=now,
        )

    committer_runs(grab, fresh_winners)


if __name__ == "__main__":
    main()
