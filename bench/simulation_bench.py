"""How long a draw's cost simulation takes at its work bound (no database).

    .venv/bin/python bench/simulation_bench.py            # 3 repeats, best printed

A 31-day Europe/Paris campaign, 20,000 participants a day, three coupon types:
with daily quotas that bind every day (the hour-by-hour path) at the default
200 runs and at as many runs as ``MAX_STEPS`` allows, then with no quota that
can bind (a day in one step) at the bound. Pure Python: one core.
"""

import datetime as dt
import sys
import time
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from draws.draw.simulation import (
    DEFAULT_RUNS,
    MAX_STEPS,
    SimType,
    simulate,
    simulation_plan,
)

ZONE = "Europe/Paris"
REPEATS = 3


def _plan(binding: bool):
    starts_at = dt.datetime(2026, 12, 1, tzinfo=zoneinfo.ZoneInfo(ZONE))
    quotas = [(5000, 200), (None, 1500), (None, 50)] if binding else [(None, None)] * 3
    odds = [(0.05, 10.0, 1.0), (0.2, 2.0, 0.4), (0.01, 50.0, 1.0)]
    types = [
        SimType(i + 1, f"type {i + 1}", p, total, daily, cost, rate)
        for i, ((p, cost, rate), (total, daily)) in enumerate(
            zip(odds, quotas, strict=True)
        )
    ]
    return simulation_plan(
        timezone=ZONE,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(days=31),
        types=types,
        participants=[20_000] * 31,
    )


def _best(plan, runs: int) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        simulate(plan, runs=runs, seed=1)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    for binding in (True, False):
        plan = _plan(binding)
        at_bound = MAX_STEPS // plan.steps(1)
        for runs in (DEFAULT_RUNS, at_bound) if binding else (at_bound,):
            print(
                f"{'quotas bind daily' if binding else 'no quota binds':18} "
                f"runs={runs:5} bound={plan.steps(runs):>9,} steps  "
                f"best of {REPEATS}: {_best(plan, runs):.2f} s"
            )


if __name__ == "__main__":
    main()
