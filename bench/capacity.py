"""A capacity model from a bench run's measured cost per request.

    python -m bench baseline draw claim redeem rush-30000 --connections 300 --keep-alive
    python -m bench.capacity                      # reads bench/results/latest.json
    python -m bench.capacity --claims-per-day 1000000 --peak 10 --rush 30000 --within 5

Each operation's cost is the CPU milliseconds per answer that the run measured
for each party (gunicorn, Postgres, Redis, and a proxy or pooler where the
topology had one): a whole phase where it gives one kind of answer, the
stretch of a mixed phase in which only that kind was answered (a claim won, a
grab refused; ``bench.scenarios.cost_by_answer``). From those it answers two
questions of ``docs/performance.md`` ("A capacity model"):

- a day of claims: each claim comes with a redemption and a few reads, the
  day's average rate times its peak factor; the cores each engine needs at
  that peak;
- a rush: N customers grab within T seconds, W of them win; the cores each
  engine needs to answer them all in T, and how close the rush's Redis slot
  (one shard's single thread) and the Postgres writes come to their ceilings.

The figures are CPU only: they assume the cores are the limit, as they were in
every bench run on this machine. Latency, the network and disks are not in it.
"""

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

# operation: (scenario, phase, stretch of a mixed phase or None for the whole phase)
OPERATIONS = {
    "read": ("baseline", "me", None),
    "draw": ("draw", "draws", None),
    "claim won": ("claim", "claims", "before_first_refusal"),
    "claim refused": ("claim", "claims", "after_last_success"),
    "redeem": ("redeem", "redeem", None),
    "reserve": ("rush", "reserve", None),
    "grab won": ("rush", "grab", "before_first_refusal"),
    "grab refused": ("rush", "grab", "after_last_success"),
}
ENGINES = ("app", "postgres", "redis", "other")


class MissingCost(Exception):
    """The run did not measure an operation the model needs."""


def engine_of(party: str) -> str:
    """The engine a measured party belongs to (gunicorn nodes are the app)."""
    if party.startswith("gunicorn") or party.startswith("app"):
        return "app"
    if party.startswith("postgres"):
        return "postgres"
    if party.startswith("redis"):
        return "redis"
    return "other"  # a proxy, a pooler


def _rush_name(scenarios: dict) -> str | None:
    rushes = sorted(
        (name for name in scenarios if name.startswith("rush-")),
        key=lambda name: int(name.split("-")[1]),
    )
    return rushes[-1] if rushes else None


def operation_costs(report: dict) -> dict[str, dict[str, float]]:
    """CPU ms per answer of each engine for every operation the run measured."""
    scenarios = report.get("scenarios", {})
    rush = _rush_name(scenarios)
    costs = {}
    for operation, (scenario, phase_name, stretch) in OPERATIONS.items():
        scenario = rush if scenario == "rush" else scenario
        phase = scenarios.get(scenario, {}).get("phases", {}).get(phase_name)
        if not phase:
            continue
        per_party = (
            phase.get("cpu_ms_per_request")
            if stretch is None
            else phase.get("cost_by_answer", {})
            .get(stretch, {})
            .get("cpu_ms_per_answer")
        )
        if not per_party:
            continue
        by_engine = dict.fromkeys(ENGINES, 0.0)
        for party, ms in per_party.items():
            by_engine[engine_of(party)] += ms
        costs[operation] = by_engine
    return costs


@dataclass(frozen=True)
class Need:
    """Cores each engine needs, busy at ``utilization``, for ``rate`` answers a second."""

    label: str
    rate: float  # operations (claims, grabs) per second
    cores: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.cores.values())


def _cost(costs: dict, operation: str) -> dict[str, float]:
    try:
        return costs[operation]
    except KeyError:
        raise MissingCost(
            f"the run has no cost for {operation!r}: run the scenario "
            f"{OPERATIONS[operation][0]!r} (a mixed phase needs both kinds of answer)"
        ) from None


def _mix(costs: dict, mix: dict[str, float]) -> dict[str, float]:
    """CPU ms per engine of one unit of a mix of operations (operation: count)."""
    total = dict.fromkeys(ENGINES, 0.0)
    for operation, count in mix.items():
        for engine, ms in _cost(costs, operation).items():
            total[engine] += ms * count
    return total


def claims_day(
    costs: dict,
    *,
    claims_per_day: int,
    peak: float,
    reads_per_claim: float,
    redeemed_share: float,
    utilization: float,
) -> Need:
    """The cores for a day of claims at its peak: each claim with its reads
    (campaigns, the customer's vouchers) and, for ``redeemed_share`` of them,
    a redemption at checkout."""
    rate = claims_per_day / 86_400 * peak
    per_claim = _mix(
        costs,
        {"claim won": 1, "read": reads_per_claim, "redeem": redeemed_share},
    )
    return Need(
        label=f"{claims_per_day:,} claims a day, peak {peak:g}x the average",
        rate=rate,
        cores={e: rate * ms / 1000 / utilization for e, ms in per_claim.items()},
    )


def rush(
    costs: dict, *, customers: int, coupons: int, within: float, utilization: float
) -> Need:
    """The cores to answer ``customers`` grabs in ``within`` seconds, ``coupons``
    of them winners."""
    spent = _mix(
        costs, {"grab won": coupons, "grab refused": max(customers - coupons, 0)}
    )
    return Need(
        label=f"{customers:,} grabs answered within {within:g} s ({coupons:,} coupons)",
        rate=customers / within,
        cores={e: ms / 1000 / within / utilization for e, ms in spent.items()},
    )


def rush_ceilings(costs: dict, *, customers: int, coupons: int) -> dict[str, float]:
    """What one campaign's rush can reach whatever the cores: its Redis keys
    share one hash slot, so one Redis thread answers every grab; grabs a second
    it allows at the measured Redis CPU per grab (winners and losers mixed)."""
    redis_ms = (
        _mix(costs, {"grab won": coupons, "grab refused": customers - coupons})["redis"]
        / customers
    )
    return {
        "redis_ms_per_grab": redis_ms,
        "grabs_per_second_one_redis_thread": 1000 / redis_ms if redis_ms else math.inf,
    }


def nodes(app_cores: float, cores_per_node: int) -> int:
    return max(1, math.ceil(app_cores / cores_per_node))


def markdown(costs: dict, needs: list[Need], cores_per_node: int) -> str:
    lines = [
        "| operation | app CPU ms | Postgres CPU ms | Redis CPU ms | proxy/pooler CPU ms |",
        "|---|---|---|---|---|",
    ]
    for operation in OPERATIONS:
        if operation in costs:
            c = costs[operation]
            lines.append(
                f"| {operation} | {c['app']:.3f} | {c['postgres']:.3f} | "
                f"{c['redis']:.3f} | {c['other']:.3f} |"
            )
    lines += [
        "",
        f"| load | per second | app cores | app nodes of {cores_per_node} cores "
        "| Postgres cores | Redis cores | proxy/pooler cores |",
        "|---|---|---|---|---|---|---|",
    ]
    for need in needs:
        c = need.cores
        lines.append(
            f"| {need.label} | {need.rate:,.0f} | {c['app']:.2f} | "
            f"{nodes(c['app'], cores_per_node)} | {c['postgres']:.2f} | "
            f"{c['redis']:.2f} | {c['other']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.capacity", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--claims-per-day", type=int, default=1_000_000)
    parser.add_argument("--peak", type=float, default=10.0)
    parser.add_argument("--reads-per-claim", type=float, default=4.0)
    parser.add_argument("--redeemed-share", type=float, default=1.0)
    parser.add_argument("--rush", type=int, default=30_000, help="customers")
    parser.add_argument("--coupons", type=int, default=6_000)
    parser.add_argument("--within", type=float, default=5.0, help="seconds")
    parser.add_argument(
        "--utilization",
        type=float,
        default=0.7,
        help="how busy a core may be at the peak (0.7: 30%% headroom)",
    )
    parser.add_argument("--cores-per-node", type=int, default=2)
    args = parser.parse_args(argv)

    report = json.loads(args.results.read_text())
    costs = operation_costs(report)
    try:
        needs = [
            claims_day(
                costs,
                claims_per_day=args.claims_per_day,
                peak=args.peak,
                reads_per_claim=args.reads_per_claim,
                redeemed_share=args.redeemed_share,
                utilization=args.utilization,
            ),
            rush(
                costs,
                customers=args.rush,
                coupons=args.coupons,
                within=args.within,
                utilization=args.utilization,
            ),
        ]
        ceilings = rush_ceilings(costs, customers=args.rush, coupons=args.coupons)
    except MissingCost as exc:
        parser.exit(2, f"bench.capacity: {exc}\n")
    load = report.get("load", {})
    print(
        f"Costs measured {report.get('started', '?')} "
        f"({load.get('connections')} connections, keep-alive {load.get('keep_alive')}, "
        f"topology {report.get('topology', 'single')}); cores busy at most "
        f"{args.utilization:.0%} at the peak.\n"
    )
    print(markdown(costs, needs, args.cores_per_node))
    print(
        f"\nOne rush's Redis slot: {ceilings['redis_ms_per_grab']:.3f} ms of Redis CPU "
        f"per grab, so one Redis thread answers at most "
        f"{ceilings['grabs_per_second_one_redis_thread']:,.0f} grabs a second."
    )


if __name__ == "__main__":
    main()
