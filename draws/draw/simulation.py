"""What a lucky draw will likely cost, before it runs: a Monte Carlo of its days.

Pure Python, no database: ``simulation_plan`` lays out the campaign's local
days and hours, ``simulate`` plays them ``runs`` times with the draw's rules
(``draws.draw.services.draw_run``) and returns means and percentiles. The
reads that fill a plan from a campaign are in ``draws.draw.selectors``.

The rules it plays, per run:

- Each local day brings its participants (a number given, no arrival noise);
  each draws once. They arrive over the day's open hours by the hourly
  profile: the day's count is split over the hours multinomially.
- In an hour with ``n`` participants the hits per coupon type are multinomial
  with the odds, sampled as a chain of binomials (``random.binomialvariate``):
  type ``i`` gets ``Binomial(n - hits so far, p_i / (1 - p of the types
  sampled so far))``.
- A hit takes a unit of the type's daily and total quota; a spent one turns
  the hit into a loss and leaves the other odds as they are. So a type's wins
  in an hour are exactly ``min(hits, left)`` whatever order the rolls come in
  within the hour: one type's quota never changes another's hits. Only the
  minute a quota runs out would need the order; the hour is exact. Types
  whose quota is spent are left out of the chain (their hits are losses).
- A day on which no quota can run out (every type has more left than the
  day's participants) is sampled in one step instead of hour by hour: the same
  distribution, 24 times less work.
- The daily quota turns over at local midnight; the total carries on.
- A day is its 24 wall-clock hours, also when the clocks change (the hour
  skipped in spring keeps its weight; the hour repeated in autumn is one).
- Redeemed coupons are ``Binomial(wins, redemption rate)`` per type and day;
  the cost is redeemed x cost per coupon.
"""

import datetime as dt
import math
import random
import statistics
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from couponsite.errors import DomainError

MAX_RUNS = 2000
DEFAULT_RUNS = 200
# Binomial draws in the worst case (runs x open hours x (types + 1)): about a
# second of one core (docs/performance.md). Beyond it: SIMULATION_TOO_LARGE.
MAX_STEPS = 2_000_000
MAX_PARTICIPANTS_PER_DAY = 10_000_000
MAX_COST = Decimal("1000000")  # per coupon: past any real prize
MAX_SIMULATED_DAYS = 3660  # ten years: longer lists are refused before any work
HOURS = 24
PERCENTILES = (5, 50, 95)


class SimulationTooLarge(DomainError):
    code = "SIMULATION_TOO_LARGE"
    detail = _("This simulation would take too long.")


@dataclass(frozen=True)
class SimType:
    """A coupon type as the simulation sees it."""

    id: int
    name: str
    probability: float
    total_quota: int | None
    daily_quota: int | None
    cost: float
    redemption_rate: float = 1.0


@dataclass(frozen=True)
class SimDay:
    """One local day: its expected participants and how they spread over its hours.

    ``hour_weights``: 24 shares summing to 1 over the hours the campaign is
    open that day (0 for the others)."""

    day: dt.date
    participants: float
    hour_weights: tuple[float, ...]

    @property
    def open_hours(self) -> list[int]:
        return [hour for hour, weight in enumerate(self.hour_weights) if weight > 0]


@dataclass(frozen=True)
class Plan:
    timezone: str
    days: tuple[SimDay, ...]
    types: tuple[SimType, ...]

    def steps(self, runs: int) -> int:
        """The binomial draws ``runs`` runs may take at most (the work bound)."""
        hours = sum(len(day.open_hours) for day in self.days)
        return runs * hours * (len(self.types) + 1)


def campaign_day_count(
    starts_at: dt.datetime, ends_at: dt.datetime, tz: zoneinfo.ZoneInfo
) -> int:
    """How many local calendar days the campaign touches."""
    first = starts_at.astimezone(tz).date()
    last = (ends_at - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return (last - first).days + 1


def require_simulable_days(count: int) -> None:
    """``SIMULATION_TOO_LARGE`` for a campaign of more local days than
    ``MAX_SIMULATED_DAYS``, before any day is laid out."""
    if count > MAX_SIMULATED_DAYS:
        raise SimulationTooLarge(
            gettext(
                "The campaign spans %(count)s local days; at most %(most)s can be "
                "simulated."
            )
            % {"count": f"{count:,}", "most": f"{MAX_SIMULATED_DAYS:,}"}
        )


def campaign_days(
    starts_at: dt.datetime, ends_at: dt.datetime, tz: zoneinfo.ZoneInfo
) -> list[dt.date]:
    """The local calendar days the campaign touches, first to last."""
    first = starts_at.astimezone(tz).date()
    count = campaign_day_count(starts_at, ends_at, tz)
    return [first + dt.timedelta(days=n) for n in range(count)]


def hour_start(day: dt.date, hour: int, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The moment local ``hour`` of ``day`` starts (wall clock: on a day the
    clocks go back, 01:00 is its first occurrence)."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz)


def _open_share(
    day: dt.date, hour: int, tz, starts_at: dt.datetime, ends_at: dt.datetime
) -> float:
    """The part of local ``hour`` of ``day`` the campaign is open, 0 to 1."""
    start = hour_start(day, hour, tz).astimezone(dt.UTC)
    end = start + dt.timedelta(hours=1)
    overlap = (min(end, ends_at) - max(start, starts_at)).total_seconds()
    return max(0.0, overlap / 3600)


def simulation_plan(
    *,
    timezone: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    types: list[SimType],
    participants: list[float],
    hourly_profile: list[float] | None = None,
) -> Plan:
    """Lay out the days. ``participants``: a full day's expected participants,
    one per campaign day (``campaign_days``). A first or last day the campaign
    is open only part of gets the profile's share of its open hours: a
    campaign starting at 18:00 with a flat profile sees a quarter of that
    day's participants."""
    tz = zoneinfo.ZoneInfo(timezone)
    require_simulable_days(campaign_day_count(starts_at, ends_at, tz))
    profile = list(hourly_profile) if hourly_profile else [1.0] * HOURS
    whole = sum(profile)
    days = []
    for day, count in zip(
        campaign_days(starts_at, ends_at, tz), participants, strict=True
    ):
        weights = [
            weight * _open_share(day, hour, tz, starts_at, ends_at)
            for hour, weight in enumerate(profile)
        ]
        open_weight = sum(weights)
        if open_weight <= 0:
            days.append(SimDay(day, 0.0, (0.0,) * HOURS))
            continue
        days.append(
            SimDay(
                day,
                count * open_weight / whole,
                tuple(weight / open_weight for weight in weights),
            )
        )
    return Plan(timezone, tuple(days), tuple(t for t in types if t.probability > 0))


@dataclass
class RunOut:
    """When one quota ran out, over the runs: ``at`` holds one (day index,
    hour) per run in which it did."""

    at: list[tuple[int, int]] = field(default_factory=list)

    def summary(self, runs: int, days: tuple[SimDay, ...], tz) -> dict:
        if not self.at:
            return {"share": 0.0, "median_at": None, "p5_at": None, "p95_at": None}
        ordered = sorted(self.at)

        def moment(quantile: float) -> str:
            day, hour = ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]
            return hour_start(days[day].day, hour, tz).isoformat()

        day, hour = statistics.median_low(ordered)
        return {
            "share": len(ordered) / runs,
            "median_at": hour_start(days[day].day, hour, tz).isoformat(),
            "p5_at": moment(0.05),
            "p95_at": moment(0.95),
        }


def percentile(ordered: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted values, interpolated linearly
    between the closest ranks (as numpy's default does)."""
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _day_count(rng: random.Random, expected: float) -> int:
    """A whole number of participants with mean ``expected`` (its fraction
    rounds up with that probability)."""
    whole = math.floor(expected)
    return whole + (rng.random() < expected - whole)


def _spread(rng: random.Random, n: int, weights: tuple[float, ...]) -> list[int]:
    """``n`` split over the hours, multinomially by ``weights`` (summing to 1)."""
    counts = [0] * HOURS
    left, mass = n, 1.0
    for hour, weight in enumerate(weights):
        if left == 0:
            break
        if weight <= 0:
            continue
        taken = left if weight >= mass else rng.binomialvariate(left, weight / mass)
        counts[hour] = taken
        left -= taken
        mass -= weight
    return counts


def simulate(plan: Plan, *, runs: int, seed: int) -> dict:
    """Play the plan ``runs`` times (reproducible with ``seed``).

    Raises ``SimulationTooLarge`` past ``MAX_STEPS``. Returns per type and day
    the mean wins and cost, per type the total quota's and per day the daily
    quota's run-out (share of runs, median hour), and the total cost's
    mean and P5/P50/P95 over the runs.
    """
    if not 1 <= runs <= MAX_RUNS:
        raise SimulationTooLarge(
            gettext("Runs must be between 1 and %(most)s.") % {"most": f"{MAX_RUNS:,}"}
        )
    steps = plan.steps(runs)
    if steps > MAX_STEPS:
        raise SimulationTooLarge(
            gettext(
                "%(runs)s runs of %(days)s days and %(types)s coupon types take up "
                "to %(steps)s steps; the limit is %(limit)s. Ask for fewer runs."
            )
            % {
                "runs": f"{runs:,}",
                "days": f"{len(plan.days):,}",
                "types": len(plan.types),
                "steps": f"{steps:,}",
                "limit": f"{MAX_STEPS:,}",
            }
        )
    rng = random.Random(seed)
    types, days = plan.types, plan.days
    n_types, n_days = len(types), len(days)
    wins_sum = [[0] * n_types for _ in range(n_days)]
    redeemed_sum = [[0] * n_types for _ in range(n_days)]
    total_out = [RunOut() for _ in types]
    daily_out = [[RunOut() for _ in types] for _ in range(n_days)]
    run_costs: list[float] = []
    probabilities = [t.probability for t in types]
    costs = [t.cost for t in types]
    rates = [t.redemption_rate for t in types]
    unlimited = math.inf

    for _run in range(runs):
        total_left = [
            unlimited if t.total_quota is None else t.total_quota for t in types
        ]
        run_cost = 0.0
        for d, day in enumerate(days):
            daily_left = [
                unlimited if t.daily_quota is None else t.daily_quota for t in types
            ]
            n_day = _day_count(rng, day.participants)
            wins = [0] * n_types
            if n_day:
                if all(
                    min(daily_left[i], total_left[i]) > n_day for i in range(n_types)
                ):
                    hours = [(0, n_day)]  # nothing can run out: one step for the day
                else:
                    counts = _spread(rng, n_day, day.hour_weights)
                    hours = [(h, n) for h, n in enumerate(counts) if n]
                for hour, n in hours:
                    rest, mass = n, 1.0
                    for i in range(n_types):
                        if rest == 0:
                            break
                        left = min(daily_left[i], total_left[i])
                        if left == 0:
                            continue  # spent: its hits are losses, left in "rest"
                        p = probabilities[i]
                        hits = (
                            rest if p >= mass else rng.binomialvariate(rest, p / mass)
                        )
                        rest -= hits
                        mass -= p
                        if not hits:
                            continue
                        won = hits if hits < left else left
                        if won == daily_left[i]:
                            daily_out[d][i].at.append((d, hour))
                        if won == total_left[i]:
                            total_out[i].at.append((d, hour))
                        daily_left[i] -= won
                        total_left[i] -= won
                        wins[i] += won
            for i in range(n_types):
                if wins[i]:
                    rate = rates[i]
                    redeemed = (
                        wins[i] if rate >= 1 else rng.binomialvariate(wins[i], rate)
                    )
                    wins_sum[d][i] += wins[i]
                    redeemed_sum[d][i] += redeemed
                    run_cost += redeemed * costs[i]
        run_costs.append(run_cost)

    return _summary(
        plan, runs, seed, wins_sum, redeemed_sum, total_out, daily_out, run_costs
    )


def _summary(plan, runs, seed, wins_sum, redeemed_sum, total_out, daily_out, run_costs):
    tz = zoneinfo.ZoneInfo(plan.timezone)
    ordered = sorted(run_costs)
    coupon_types = []
    for i, sim_type in enumerate(plan.types):
        per_day = []
        for d, day in enumerate(plan.days):
            per_day.append(
                {
                    "day": day.day,
                    "expected_wins": wins_sum[d][i] / runs,
                    "expected_redeemed": redeemed_sum[d][i] / runs,
                    "expected_cost": redeemed_sum[d][i] * sim_type.cost / runs,
                    "daily_quota_runs_out": (
                        None
                        if sim_type.daily_quota is None
                        else daily_out[d][i].summary(runs, plan.days, tz)
                    ),
                }
            )
        coupon_types.append(
            {
                "id": sim_type.id,
                "name": sim_type.name,
                "probability": sim_type.probability,
                "total_quota": sim_type.total_quota,
                "daily_quota": sim_type.daily_quota,
                "cost": sim_type.cost,
                "redemption_rate": sim_type.redemption_rate,
                "expected_wins": sum(row["expected_wins"] for row in per_day),
                "expected_cost": sum(row["expected_cost"] for row in per_day),
                "total_quota_runs_out": (
                    None
                    if sim_type.total_quota is None
                    else total_out[i].summary(runs, plan.days, tz)
                ),
                "days": per_day,
            }
        )
    return {
        "runs": runs,
        "seed": seed,
        "timezone": plan.timezone,
        "days": [
            {"day": day.day, "expected_participants": day.participants}
            for day in plan.days
        ],
        "coupon_types": coupon_types,
        "total": {
            "expected_wins": sum(t["expected_wins"] for t in coupon_types),
            "expected_cost": statistics.fmean(run_costs),
            **{f"cost_p{q}": percentile(ordered, q) for q in PERCENTILES},
        },
    }
