"""The cost simulator's Monte Carlo against closed-form expectations.

Tolerances come from the variance: a mean over ``runs`` runs is within
``Z`` standard errors of its expectation but for a chance of about 6 in 10
million (Z = 5); the seeds are fixed, so each test is deterministic anyway.
"""

import datetime as dt
import math
import zoneinfo

import pytest

from draws.draw.simulation import (
    MAX_STEPS,
    SimType,
    SimulationTooLarge,
    campaign_days,
    simulate,
    simulation_plan,
)

Z = 5
UTC = "UTC"
PARIS = "Europe/Paris"


def _plan(types, participants, days=3, timezone=UTC, profile=None, start_hour=0):
    tz = zoneinfo.ZoneInfo(timezone)
    starts_at = dt.datetime(2026, 12, 1, start_hour, tzinfo=tz)
    ends_at = dt.datetime(2026, 12, 1, tzinfo=tz) + dt.timedelta(days=days)
    return simulation_plan(
        timezone=timezone,
        starts_at=starts_at,
        ends_at=ends_at,
        types=types,
        participants=[participants] * days,
        hourly_profile=profile,
    )


def only_hour(hour: int) -> list[float]:
    return [1.0 if h == hour else 0.0 for h in range(24)]


def test_without_binding_quotas_mean_wins_and_cost_are_n_times_p():
    # given two types no quota can stop, one redeemed half the time
    n, runs = 1000, 400
    gold = SimType(1, "gold", 0.1, None, None, cost=20.0)
    silver = SimType(2, "silver", 0.3, None, 10_000, cost=4.0, redemption_rate=0.5)
    plan = _plan([gold, silver], n)

    # when
    result = simulate(plan, runs=runs, seed=7)

    # then each day's mean wins is n p within Z standard errors of a binomial
    for sim_type, row in zip([gold, silver], result["coupon_types"], strict=True):
        p, r = sim_type.probability, sim_type.redemption_rate
        for day in row["days"]:
            assert abs(day["expected_wins"] - n * p) <= Z * math.sqrt(
                n * p * (1 - p) / runs
            )
            # redeemed coupons: a binomial thinned by r is Binomial(n, p r)
            assert abs(day["expected_redeemed"] - n * p * r) <= Z * math.sqrt(
                n * p * r * (1 - p * r) / runs
            )
        assert row["total_quota_runs_out"] is None
    silver_day = result["coupon_types"][1]["days"][0]
    assert silver_day["daily_quota_runs_out"]["share"] == 0.0
    assert silver_day["daily_quota_runs_out"]["median_at"] is None

    # and the total cost: its mean within Z standard errors, its P5/P50/P95
    # near the normal's quantiles (a sum of 3 x 1000 independent draws)
    cost_per_draw = [
        (0.1, 20.0),  # a redeemed gold
        (0.3 * 0.5, 4.0),  # a redeemed silver
    ]
    mean_per_draw = sum(p * c for p, c in cost_per_draw)
    var_per_draw = sum(p * c * c for p, c in cost_per_draw) - mean_per_draw**2
    draws = 3 * n
    mean, sd = draws * mean_per_draw, math.sqrt(draws * var_per_draw)
    total = result["total"]
    assert abs(total["expected_cost"] - mean) <= Z * sd / math.sqrt(runs)
    # a sample quantile's standard error: sqrt(q (1 - q) / runs) / density there
    for q, z in [(5, -1.6449), (50, 0.0), (95, 1.6449)]:
        density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / sd
        error = math.sqrt(q / 100 * (1 - q / 100) / runs) / density
        assert abs(total[f"cost_p{q}"] - (mean + z * sd)) <= Z * error


def test_a_quota_that_always_binds_gives_exactly_the_quota_and_its_hour():
    # given everyone wins (p = 1) and arrives at 09:00: 100 a day, 250 in all
    n = 400
    prize = SimType(1, "prize", 1.0, total_quota=250, daily_quota=100, cost=2.5)
    plan = _plan([prize], n, days=4, timezone=PARIS, profile=only_hour(9))

    # when
    result = simulate(plan, runs=50, seed=1)

    # then the wins are the quotas exactly: 100, 100, 50, then none
    row = result["coupon_types"][0]
    assert [day["expected_wins"] for day in row["days"]] == [100, 100, 50, 0]
    assert row["expected_wins"] == 250
    # the daily quota runs out at 09:00 local on the days it binds, every run
    first = row["days"][0]["daily_quota_runs_out"]
    assert first == {
        "share": 1.0,
        "median_at": "2026-12-01T09:00:00+01:00",
        "p5_at": "2026-12-01T09:00:00+01:00",
        "p95_at": "2026-12-01T09:00:00+01:00",
    }
    assert row["days"][2]["daily_quota_runs_out"]["share"] == 0.0  # the total did
    assert row["total_quota_runs_out"]["share"] == 1.0
    assert row["total_quota_runs_out"]["median_at"] == "2026-12-03T09:00:00+01:00"
    # and the cost is certain: its percentiles all equal 250 x 2.5
    total = result["total"]
    assert total["expected_cost"] == total["cost_p5"] == total["cost_p95"] == 625.0
    assert total["cost_p50"] == 625.0


def test_a_daily_quota_runs_out_in_the_hour_expected_hits_cross_it():
    # given everyone wins, 2,400 a day evenly over 24 hours (100 an hour), and a
    # daily quota of 950: expected hits after hour h are 100 (h + 1), which
    # passes 950 in hour 09. After hour 08, hits ~ Binomial(2400, 9/24) (mean
    # 900, sd 23.7) reach 950 in 1.8% of runs; after hour 09, ~ Binomial(2400,
    # 10/24) (mean 1000) fall short in 1.8%: the median hour is 09.
    prize = SimType(1, "prize", 1.0, total_quota=None, daily_quota=950, cost=1.0)
    plan = _plan([prize], 2400, days=1)

    result = simulate(plan, runs=200, seed=3)

    out = result["coupon_types"][0]["days"][0]["daily_quota_runs_out"]
    assert out["share"] == 1.0
    assert out["median_at"] == "2026-12-01T09:00:00+00:00"
    assert result["coupon_types"][0]["expected_wins"] == 950


def test_the_same_seed_gives_the_same_answer():
    types = [SimType(1, "a", 0.2, 300, 50, cost=1.0, redemption_rate=0.7)]
    plan = _plan(types, 500)

    assert simulate(plan, runs=30, seed=11) == simulate(plan, runs=30, seed=11)
    assert simulate(plan, runs=30, seed=11) != simulate(plan, runs=30, seed=12)


def test_a_first_day_open_from_18_00_gets_a_quarter_of_a_flat_day():
    plan = _plan([SimType(1, "a", 0.5, None, None, 1.0)], 1000, start_hour=18)

    first = plan.days[0]
    assert first.participants == 250
    assert first.open_hours == [18, 19, 20, 21, 22, 23]
    assert sum(first.hour_weights) == pytest.approx(1)


def test_campaign_days_are_local_calendar_days():
    tz = zoneinfo.ZoneInfo("Asia/Hong_Kong")
    # 16:00 UTC is midnight in Hong Kong: two UTC days make two local days
    starts_at = dt.datetime(2026, 12, 1, 16, tzinfo=dt.UTC)
    ends_at = dt.datetime(2026, 12, 3, 16, tzinfo=dt.UTC)

    assert campaign_days(starts_at, ends_at, tz) == [
        dt.date(2026, 12, 2),
        dt.date(2026, 12, 3),
    ]


def test_too_much_work_is_refused_before_any():
    plan = _plan([SimType(1, "a", 0.5, None, None, 1.0)], 10, days=365)
    runs = MAX_STEPS // (365 * 24 * 2) + 1

    with pytest.raises(SimulationTooLarge) as refused:
        simulate(plan, runs=runs, seed=1)
    assert refused.value.code == "SIMULATION_TOO_LARGE"
