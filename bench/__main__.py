"""Couponsite's benchmark: gunicorn + Postgres + Redis on this machine, loopback only.

    python -m bench                       # every scenario
    python -m bench baseline draw         # some
    python -m bench --write-docs          # and rewrite docs/performance.md

It recreates the ``couponsite_bench`` database, loads customers and tokens with
``manage.py load_fixture``, starts gunicorn (2 sync workers), and drives the
HTTP API from a separate load-generator process (``bench.loadgen``). Each
scenario reports throughput, latency percentiles, answers by status and error
code, the correctness counts read back from Postgres, CPU seconds of every
party, and its throughput as a ratio to ``baseline`` of the same run. Results
go to ``bench/results/latest.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import django
import psycopg

from bench import scenarios

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DB_NAME = os.environ.get("BENCH_DATABASE_NAME", "couponsite_bench")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PORT = int(os.environ.get("BENCH_PORT", "18300"))

BENCH_ENV = {
    "DATABASE_URL": f"{PG_URL}/{DB_NAME}",
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": "bench",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "ERROR",
    "SMS_BACKEND": "couponsite.sms.backends.NullBackend",
    "WEB_CONCURRENCY": os.environ.get("BENCH_WORKERS", "2"),
    "GUNICORN_TIMEOUT": "60",
    # One load generator on one address: per-address limits off, per-customer kept.
    **{
        f"RATE_LIMIT_{scope}_IP": "off"
        for scope in (
            "OTP",
            "TOKEN",
            "DRAW",
            "CLAIM",
            "RESERVE",
            "GRAB",
            "REDEEM",
            "REDEEM_FAIL",
        )
    },
}


def _recreate_database() -> None:
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [DB_NAME],
        )
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        connection.execute(f'CREATE DATABASE "{DB_NAME}"')


def _manage(*args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **BENCH_ENV},
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", help=f"scenarios: {', '.join(scenarios.ALL)}"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--write-docs", action="store_true", help="rewrite docs/performance.md"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="correctness only (CI): no baseline; exit 1 if any count is off",
    )
    args = parser.parse_args()
    names = args.names or list(scenarios.ALL)
    unknown = set(names) - set(scenarios.ALL)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if "baseline" not in names and not args.smoke:
        names.insert(0, "baseline")

    os.environ.update(BENCH_ENV)
    print(f"bench: recreating database {DB_NAME}", file=sys.stderr)
    _recreate_database()
    _manage("migrate", "--noinput", "-v0")
    customers = max(scenarios.ALL[name].customers for name in names)
    RESULTS.mkdir(parents=True, exist_ok=True)
    tokens = RESULTS / "tokens.txt"
    _manage("load_fixture", "--customers", str(customers), "--tokens-file", str(tokens))

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")
    django.setup()

    context = scenarios.Context(
        port=PORT, tokens_file=tokens, concurrency=args.concurrency
    )
    report = {
        "machine": scenarios.machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "scenarios": {},
    }
    with scenarios.Server(PORT, env={**os.environ, **BENCH_ENV}) as server:
        context.server = server
        for name in names:
            print(f"bench: {name}", file=sys.stderr)
            result = scenarios.ALL[name].run(context)
            report["scenarios"][name] = result
            print(json.dumps({name: result}, indent=2))
    if "baseline" in report["scenarios"]:
        baseline = report["scenarios"]["baseline"]["phases"]["me"]["throughput"]
        for result in report["scenarios"].values():
            for phase in result["phases"].values():
                if phase.get("throughput"):
                    phase["ratio_to_baseline"] = round(
                        phase["throughput"] / baseline, 3
                    )
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    table = scenarios.markdown(report)
    print(table)
    if args.write_docs:
        scenarios.write_docs(report, table)
    failures = scenarios.failures(report)
    if failures:
        print("bench: correctness failures: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)
    print("bench: every correctness count is as expected", file=sys.stderr)


if __name__ == "__main__":
    main()
