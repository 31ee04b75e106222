"""How long an "Over time" chart takes over a million events: its query and its SVG.

    .venv/bin/python bench/over_time_bench.py                 # 1,000,000 draws, 5 runs
    … --kind claim                                            # 1,000,000 claims
    … --kind rush                         # 1,000,000 reservations, 200,000 grabs
    … --events 200000 --runs 3

On Postgres only (``generate_series``): ``BENCH_DATABASE_NAME`` (default
``couponsite_bench``) on ``BENCH_PG_URL``, created if missing and migrated.
One draw campaign in Europe/Paris gets ``--events`` draws spread evenly over
the 30 days before now (one in ten wins, half the wins redeemed), or a claim
campaign as many claims (``fill_claims``), or a rush campaign as many
reservations (``fill_rush``), written by one ``INSERT … SELECT``
each, inside a transaction that is rolled back at the
end: the database is left as it was (apart from dead rows for autovacuum).
Each chart of each range (the mode's, then redemptions, as
``draws.over_time`` draws them) is timed from the query to the finished SVG, ``--runs`` times;
the first run reads from disk, so the best and the median are printed.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
DB_NAME = os.environ.get("BENCH_DATABASE_NAME", "couponsite_bench")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
CUSTOMERS = 40_000  # more than a day's draws: each draws once a day
ZONE = "Europe/Paris"


class _Rollback(Exception):
    pass


def _database() -> None:
    """Create the bench database if it is missing, and point Django at it."""
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]
        ).fetchone()
        if not found:
            admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = f"{PG_URL}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")
    os.environ.setdefault("SECRET_KEY", "bench")


def _customers(cursor) -> None:
    cursor.execute(
        """
        INSERT INTO customers_customer (phone, email, name, is_active, created_at)
        SELECT '+1999' || lpad(n::text, 8, '0'), NULL, '', true, now()
        FROM generate_series(0, %s - 1) AS n
        """,
        [CUSTOMERS],
    )


# The first bench customer's id (one INSERT took consecutive ids).
FIRST = "(SELECT min(id) AS first FROM customers_customer WHERE phone LIKE '+1999%%')"


def fill_draws(cursor, campaign, coupon_type, events: int) -> None:
    """``events`` draws over 30 days up to now, one customer a day each; every
    tenth wins, half the wins redeemed an hour later."""
    step = f"{30 * 86400 / events} seconds"
    _customers(cursor)
    cursor.execute(
        """
        INSERT INTO vouchers_voucher (code, status, campaign_id, coupon_type_id,
            benefit_kind, percent, currency, free_item, email, order_ref,
            issued_at, used_at, created_at)
        SELECT 'OVERTIME' || n, CASE WHEN n %% 20 = 0 THEN 'redeemed' ELSE 'issued' END,
            %s, %s, 'percent', 10, '', '', '', '',
            now() - n * %s::interval,
            CASE WHEN n %% 20 = 0 THEN now() - n * %s::interval + interval '1 hour' END,
            now() - n * %s::interval
        FROM generate_series(0, %s - 1, 10) AS n
        """,
        [campaign.pk, coupon_type.pk, step, step, step, events],
    )
    cursor.execute(
        f"""
        INSERT INTO draws_draw (customer_id, campaign_id, day, won, coupon_type_id,
            voucher_id, roll, odds, created_at)
        SELECT c.first + n %% %s, %s,
            ((now() - n * %s::interval) AT TIME ZONE %s)::date,
            n %% 10 = 0, CASE WHEN n %% 10 = 0 THEN %s END, v.id, 0.5, '[]',
            now() - n * %s::interval
        FROM generate_series(0, %s - 1) AS n
        CROSS JOIN {FIRST} AS c
        LEFT JOIN vouchers_voucher v ON n %% 10 = 0 AND v.code = 'OVERTIME' || n
        """,
        [CUSTOMERS, campaign.pk, step, ZONE, coupon_type.pk, step, events],
    )
    cursor.execute("ANALYZE customers_customer, vouchers_voucher, draws_draw")


def fill_claims(cursor, campaign, coupon_type, events: int) -> None:
    """``events`` claims over 30 days up to now, each of its own coupon held 5
    minutes: a quarter redeemed in the hold, a quarter still marked held (run
    out), the rest back in the pool. Nearly every claim but the quarter lapsed."""
    step = f"{30 * 86400 / events} seconds"
    _customers(cursor)
    cursor.execute(
        f"""
        INSERT INTO vouchers_voucher (code, status, campaign_id, coupon_type_id,
            benefit_kind, percent, currency, free_item, email, order_ref,
            owner_id, issued_at, held_until, used_at, created_at)
        SELECT 'OVERTIME' || n,
            CASE n %% 4 WHEN 0 THEN 'redeemed' WHEN 1 THEN 'held' ELSE 'available' END,
            %s, %s, 'percent', 10, '', '', '', '',
            CASE WHEN n %% 4 < 2 THEN c.first + n %% %s END,
            CASE WHEN n %% 4 < 2 THEN now() - n * %s::interval END,
            CASE WHEN n %% 4 < 2
                THEN now() - n * %s::interval + interval '5 minutes' END,
            CASE WHEN n %% 4 = 0
                THEN now() - n * %s::interval + interval '1 minute' END,
            now() - interval '31 days'
        FROM generate_series(0, %s - 1) AS n CROSS JOIN {FIRST} AS c
        """,
        [campaign.pk, coupon_type.pk, CUSTOMERS, step, step, step, events],
    )
    cursor.execute(
        f"""
        INSERT INTO draws_claim (customer_id, campaign_id, day, voucher_id,
            held_until, created_at)
        SELECT c.first + n %% %s, %s,
            ((now() - n * %s::interval) AT TIME ZONE %s)::date, v.id,
            now() - n * %s::interval + interval '5 minutes', now() - n * %s::interval
        FROM generate_series(0, %s - 1) AS n
        CROSS JOIN {FIRST} AS c
        JOIN vouchers_voucher v ON v.code = 'OVERTIME' || n
        """,
        [CUSTOMERS, campaign.pk, step, ZONE, step, step, events],
    )
    cursor.execute("ANALYZE customers_customer, vouchers_voucher, draws_claim")


def fill_rush(cursor, campaign, coupon_type, events: int) -> None:
    """``events`` reservations over the 30 days' reservation windows, evenly in
    each; every fifth reserver grabs a coupon in the rush minute."""
    from campaigns.schedule import RushWindows
    from draws.pool import Release
    from draws.rush.models import RushDay

    _customers(cursor)
    days = 30
    per_day = events // days
    coupons = per_day * 2000 // 10000
    windows = RushWindows.of(campaign)
    today = campaign.local_day()
    for back in range(days, 0, -1):
        cycle = windows.cycle(campaign.tz, today - dt.timedelta(days=back))
        release = Release.objects.create(coupon_type=coupon_type, count=coupons)
        rush_day = RushDay.objects.create(
            campaign=campaign,
            day=cycle.day,
            release=release,
            coupons_per_10000=2000,
            reservations=per_day,
            coupons=coupons,
        )
        reserving = (cycle.reservation_ends - cycle.reservation_opens) / per_day
        rushing = (cycle.rush_ends - cycle.rush_opens) / coupons
        cursor.execute(
            f"""
            INSERT INTO draws_reservation (rush_day_id, campaign_id, customer_id,
                day, number, created_at)
            SELECT %s, %s, c.first + n, %s, n + 1, %s + n * %s
            FROM generate_series(0, %s - 1) AS n CROSS JOIN {FIRST} AS c
            """,
            [rush_day.pk, campaign.pk, cycle.day, cycle.reservation_opens,
             reserving, per_day],
        )  # fmt: skip
        cursor.execute(
            """
            INSERT INTO vouchers_voucher (code, status, campaign_id, coupon_type_id,
                release_id, benefit_kind, percent, currency, free_item, email,
                order_ref, created_at)
            SELECT 'OVERTIME' || %s || '-' || n, 'issued', %s, %s, %s, 'percent',
                10, '', '', '', '', %s
            FROM generate_series(0, %s - 1) AS n
            """,
            [back, campaign.pk, coupon_type.pk, release.pk, cycle.rush_opens,
             coupons],
        )  # fmt: skip
        cursor.execute(
            """
            INSERT INTO draws_grab (reservation_id, campaign_id, customer_id, day,
                voucher_id, via, created_at)
            SELECT r.id, %s, r.customer_id, %s, v.id, 'redis', %s + g.n * %s
            FROM generate_series(0, %s - 1) AS g(n)
            JOIN draws_reservation r ON r.rush_day_id = %s AND r.number = g.n * 5 + 1
            JOIN vouchers_voucher v ON v.code = 'OVERTIME' || %s || '-' || g.n
            """,
            [campaign.pk, cycle.day, cycle.rush_opens, rushing, coupons,
             rush_day.pk, back],
        )  # fmt: skip
    cursor.execute(
        "ANALYZE customers_customer, vouchers_voucher, draws_reservation, draws_grab"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--kind",
        choices=["draw", "claim", "rush"],
        default="draw",
        help="the campaign's",
    )
    args = parser.parse_args()

    _database()
    import django

    django.setup()
    # The project's modules import models: only once Django is set up.
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from campaigns.services import campaign_create
    from couponsite.charts import chart_svg
    from couponsite.timeseries import labels
    from draws.claim.timeline import claim_timeline
    from draws.draw.timeline import draw_timeline
    from draws.over_time import RANGES
    from draws.rush.timeline import rush_timeline
    from vouchers.timeline import redemption_timeline

    call_command("migrate", verbosity=0)
    fill, timeline = {
        "draw": (fill_draws, draw_timeline),
        "claim": (fill_claims, claim_timeline),
        "rush": (fill_rush, rush_timeline),
    }[args.kind]
    print(
        f"database: {connection.settings_dict['NAME']}; {args.events:,} events, {args.kind} campaign"
    )
    try:
        with transaction.atomic():
            now = timezone.now()
            campaign = campaign_create(
                acting_user=None,
                name="over time bench",
                slug=f"over-time-bench-{os.getpid()}",
                kind=args.kind,
                timezone=ZONE,
                starts_at=now - dt.timedelta(days=30),
                ends_at=now + dt.timedelta(days=1),
                coupon_types=[
                    {
                        "draw": {"name": "bench", "percent": 10, "probability": 1},
                        "claim": {"name": "bench", "percent": 10, "hold_seconds": 300},
                        "rush": {"name": "bench", "percent": 10},
                    }[args.kind]
                ],
            )
            started = time.perf_counter()
            with connection.cursor() as cursor:
                fill(cursor, campaign, campaign.coupon_types.get(), args.events)
            print(f"filled in {time.perf_counter() - started:.1f} s")
            for range_ in RANGES:
                if campaign.kind not in range_.kinds:
                    continue
                span = range_.span(campaign, timezone.now())
                names = labels(span)
                for chart_of in (timeline, redemption_timeline):
                    timings, chart = [], None
                    for _ in range(args.runs):
                        started = time.perf_counter()
                        chart = chart_of(campaign, span)
                        chart_svg(title=chart.title, labels=names, series=chart.series)
                        timings.append((time.perf_counter() - started) * 1000)
                    counted = sum(sum(s.values) for s in chart.series)
                    print(
                        f"{range_.name:>5} {chart.title:<24} "
                        f"{len(names):>3} buckets, {counted:>9,} counted: "
                        f"median {statistics.median(timings):6.1f} ms, "
                        f"best {min(timings):6.1f} ms"
                    )
            raise _Rollback
    except _Rollback:
        pass


if __name__ == "__main__":
    main()
