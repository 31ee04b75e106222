"""Couponsite's benchmark: gunicorn + Postgres + Redis on this machine, loopback only.

    python -m bench                       # every scenario
    python -m bench baseline draw         # some
    python -m bench --write-docs          # and rewrite docs/performance.md
    python -m bench rush-30000 --connections 300 --keep-alive   # issue 18's shape
    python -m bench rush-30000 --arrivals open --within 1.0   # 30,000 phones in 1 s
    python -m bench rush-30000 --arrivals open --ramp 5       # a 5 s ramp
    python -m bench healthz --arrivals open --within 1.0 --smoke   # the generator's reach
    python -m bench rush-300 --topology cluster   # two nodes, Redis Cluster, PgBouncer
    python -m bench rush-30000 --arrivals open --topology proxy   # behind HAProxy
    python -m bench draw --quota-shards 8     # the hot type's quota over 8 rows

It recreates the ``couponsite_bench`` database (and leaves it), loads customers
and tokens with ``manage.py load_fixture``, starts gunicorn (as ``gunicorn.conf.py`` runs it;
``couponsite.testing.live_server``), and drives the
HTTP API from a separate load-generator process (``bench.loadgen``): 32 clients
opening a connection per request, or ``--connections N --keep-alive``: N clients
on persistent connections; or ``--arrivals open``: every customer arrives on a
schedule (``--within S`` evenly, or ``--ramp S``), on a connection of its own,
whatever the server's pace, shared among ``--loadgen-processes`` generator
processes (the Rush's reservations stay on the looping clients). Each scenario reports throughput, the time until the
last answer, latency percentiles, answers by status and error code, the
correctness counts read back from Postgres, the CPU of every party (in all and
in milliseconds per request), and its throughput as a ratio to ``baseline`` of
the same run. Results go to ``bench/results/latest.json``.

``--topology`` (``bench.topology``): ``single`` (gunicorn direct, the default),
``proxy`` (HAProxy, or nginx with ``--proxy nginx``, in front of it), or
``cluster`` (a Redis Cluster of three masters, PgBouncer in transaction mode,
two gunicorn nodes, the proxy balancing over both); the load generator talks to
the proxy only, every process of the topology is a party of the CPU figures, and
the rush sends a bounded set of repeats to each node (``Rush``'s docstring).
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import django

from bench import scenarios
from bench.topology import DEFAULT_CLUSTER_PORT, PROXIES, TOPOLOGIES, Topology
from couponsite.testing.live_server import rate_limits

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DB_NAME = os.environ.get("BENCH_DATABASE_NAME", "couponsite_bench")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PORT = int(os.environ.get("BENCH_PORT", "18300"))
# The bench's Redis Cluster (--topology cluster): this port and the next two.
CLUSTER_PORT = int(os.environ.get("BENCH_REDIS_CLUSTER_PORT", DEFAULT_CLUSTER_PORT))

BENCH_ENV = {
    "SECRET_KEY": "bench",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "ERROR",
    "SMS_BACKEND": "couponsite.sms.backends.NullBackend",
    "GUNICORN_TIMEOUT": "60",
    # One load generator on one address: per-address limits off, per-customer kept.
    **rate_limits("off", ending="_IP"),
}


def _stop_on_sigterm(signum, frame) -> None:
    """SIGTERM (``timeout``, CI) ends the run as Ctrl-C does: through the
    ``with`` blocks, which stop every process the topology started."""
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", help=f"scenarios: {', '.join(scenarios.ALL)}"
    )
    parser.add_argument(
        "--concurrency",
        "--connections",
        type=int,
        default=32,
        help="clients of the load generator, each with one connection at a time",
    )
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="persistent connections, reopened when the server closes them",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds a request may wait for its answer (queueing included); "
        "10 on looping clients, 59 (the rush minute) for open-loop arrivals, "
        "measured from the customer's arrival",
    )
    parser.add_argument(
        "--arrivals",
        choices=("closed", "open"),
        default="closed",
        help="closed: looping clients (--connections); open: customers arrive "
        "on a schedule, each on a connection of its own",
    )
    window = parser.add_mutually_exclusive_group()
    window.add_argument(
        "--within",
        type=float,
        default=None,
        help="open arrivals: every customer of a phase arrives within this many "
        "seconds, evenly (default 1.0)",
    )
    window.add_argument(
        "--ramp",
        type=float,
        default=None,
        help="open arrivals: over this many seconds, the rate growing linearly",
    )
    parser.add_argument(
        "--loadgen-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="open arrivals: load-generator processes sharing the customers",
    )
    parser.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default=os.environ.get("BENCH_TOPOLOGY") or "single",
        help="single: gunicorn direct; proxy: the proxy before it; cluster: two "
        "nodes behind the proxy on a Redis Cluster and PgBouncer",
    )
    parser.add_argument(
        "--proxy",
        choices=PROXIES,
        default="haproxy",
        help="the proxy of the proxy and cluster topologies",
    )
    parser.add_argument(
        "--quota-shards",
        type=int,
        default=1,
        help="draw: rows the hot coupon type's quota is spread over (1 to 64)",
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="rewrite docs/performance.md"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="correctness only (CI): no baseline; exit 1 if any count is off",
    )
    args = parser.parse_args()
    names = args.names or list(scenarios.DEFAULT)
    if args.arrivals == "closed" and (args.within or args.ramp):
        parser.error("--within and --ramp go with --arrivals open")
    arrivals = None
    if args.arrivals == "open":
        arrivals = {"mode": "open", "processes": max(1, args.loadgen_processes)}
        if args.ramp:
            arrivals["ramp"] = args.ramp
        else:
            arrivals["within"] = 1.0 if args.within is None else args.within
    timeout = args.timeout or (59.0 if arrivals else 10.0)
    if not 1 <= args.quota_shards <= 64:
        parser.error("--quota-shards goes from 1 to 64")
    unknown = set(names) - set(scenarios.ALL)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if "baseline" not in names and not args.smoke:
        names.insert(0, "baseline")

    customers = max(scenarios.ALL[name].customers for name in names)
    RESULTS.mkdir(parents=True, exist_ok=True)
    tokens = RESULTS / "tokens.txt"
    topology = Topology(
        args.topology,
        database=DB_NAME,
        admin_url=f"{PG_URL}/postgres",
        redis_url=REDIS_URL,
        env=BENCH_ENV,
        workers=int(os.environ.get("BENCH_WORKERS", "2")),
        port=PORT,
        commands=[
            [
                "load_fixture",
                "--customers",
                str(customers),
                "--tokens-file",
                str(tokens),
            ]
        ],
        label="bench",
        proxy=args.proxy,
        cluster_port=CLUSTER_PORT,
    )
    with topology:
        # The scenarios set up and count through the ORM, in this process and in
        # the manage.py commands it runs: on the server's database and Redis.
        os.environ.update(topology.server.env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")
        django.setup()
        context = scenarios.Context(
            port=topology.port,
            tokens_file=tokens,
            concurrency=args.concurrency,
            keep_alive=args.keep_alive,
            timeout=timeout,
            arrivals=arrivals,
            quota_shards=args.quota_shards,
        )
        context.topology = topology
        report = {
            "machine": scenarios.machine(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load": {
                "connections": args.concurrency,
                "keep_alive": args.keep_alive,
                "timeout": timeout,
                "arrivals": arrivals,
                "quota_shards": args.quota_shards,
            },
            "topology": topology.describe(),
            "scenarios": {},
        }
        for name in names:
            print(f"bench: {name}", file=sys.stderr)
            result = scenarios.ALL[name].run(context)
            report["scenarios"][name] = result
            print(json.dumps({name: result}, indent=2))
        server_errors = topology.errors_logged()
    if server_errors:
        print(
            "bench: the server logged errors:",
            *server_errors[:20],
            sep="\n",
            file=sys.stderr,
        )
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
