"""The capacity model: costs read from a bench run's results, and the cores they imply."""

import json

import pytest

from bench import capacity


def phase(ms: dict, stretches: dict | None = None) -> dict:
    return {"cpu_ms_per_request": ms, "cost_by_answer": stretches or {}}


def stretch(ms: dict) -> dict:
    return {"answers": 1_000, "cpu_ms_per_answer": ms}


def report() -> dict:
    """A run with every operation: costs chosen so sums are easy to check."""
    return {
        "started": "2026-11-30T09:00:00Z",
        "load": {"connections": 300, "keep_alive": True},
        "scenarios": {
            "baseline": {"phases": {"me": phase({"gunicorn": 0.5, "postgres": 0.0})}},
            "draw": {"phases": {"draws": phase({"gunicorn": 0.4, "postgres": 0.1})}},
            "claim": {
                "phases": {
                    "claims": phase(
                        {"gunicorn": 9.0},  # the mixed phase's average: not used
                        {
                            "before_first_refusal": stretch(
                                {"gunicorn": 1.0, "postgres": 0.5, "redis": 0.1}
                            ),
                            "after_last_success": stretch(
                                {"gunicorn": 0.2, "postgres": 0.0, "redis": 0.05}
                            ),
                        },
                    )
                }
            },
            "redeem": {"phases": {"redeem": phase({"gunicorn": 0.2, "postgres": 0.1})}},
            "rush-300": {"phases": {"grab": phase({"gunicorn": 99.0})}},
            "rush-30000": {
                "phases": {
                    "reserve": phase({"gunicorn": 0.2}),
                    "grab": phase(
                        {"gunicorn": 9.0},
                        {
                            "before_first_refusal": stretch(
                                {
                                    "gunicorn-node1": 0.3,
                                    "gunicorn-node2": 0.1,
                                    "postgres": 0.2,
                                    "redis-7301": 0.05,
                                    "nginx": 0.02,
                                }
                            ),
                            "after_last_success": stretch(
                                {"gunicorn": 0.1, "postgres": 0.0, "redis": 0.025}
                            ),
                        },
                    ),
                }
            },
        },
    }


def test_costs_come_from_the_stretch_of_their_kind_and_group_parties_by_engine():
    costs = capacity.operation_costs(report())

    assert costs["claim won"] == {
        "app": 1.0,
        "postgres": 0.5,
        "redis": 0.1,
        "other": 0.0,
    }
    assert costs["claim refused"]["app"] == 0.2
    # the largest rush is read; two app nodes add up, the proxy is "other"
    assert costs["grab won"] == pytest.approx(
        {"app": 0.4, "postgres": 0.2, "redis": 0.05, "other": 0.02}
    )
    assert costs["reserve"]["app"] == 0.2


def test_a_day_of_claims_needs_its_peak_rate_times_each_claims_mix():
    costs = capacity.operation_costs(report())

    need = capacity.claims_day(
        costs,
        claims_per_day=864_000,  # 10 a second on average
        peak=10,
        reads_per_claim=4,
        redeemed_share=1.0,
        utilization=0.5,
    )

    assert need.rate == pytest.approx(100)
    # a claim: 1.0 won + 4 x 0.5 reads + 0.2 redeem = 3.2 ms of app CPU;
    # 100 a second = 0.32 cores, at half load 0.64
    assert need.cores["app"] == pytest.approx(0.64)
    assert need.cores["postgres"] == pytest.approx((0.5 + 0.1) * 100 / 1000 / 0.5)
    assert capacity.nodes(need.cores["app"], cores_per_node=2) == 1


def test_a_rush_needs_its_winners_and_losers_cpu_within_its_seconds():
    costs = capacity.operation_costs(report())

    need = capacity.rush(
        costs, customers=30_000, coupons=6_000, within=5, utilization=1.0
    )

    # 6,000 x 0.4 + 24,000 x 0.1 = 4,800 ms of app CPU in 5 s
    assert need.cores["app"] == pytest.approx(0.96)
    assert need.rate == 6_000
    ceilings = capacity.rush_ceilings(costs, customers=30_000, coupons=6_000)
    # (6,000 x 0.05 + 24,000 x 0.025) / 30,000 = 0.03 ms per grab
    assert ceilings["redis_ms_per_grab"] == pytest.approx(0.03)
    assert ceilings["grabs_per_second_one_redis_thread"] == pytest.approx(33_333.3, 1)
    assert capacity.nodes(7.1, cores_per_node=2) == 4


def test_a_run_without_an_operation_the_model_needs_says_which_scenario(
    tmp_path, capsys
):
    partial = report()
    del partial["scenarios"]["rush-30000"], partial["scenarios"]["rush-300"]
    results = tmp_path / "latest.json"
    results.write_text(json.dumps(partial))

    with pytest.raises(SystemExit) as exit_:
        capacity.main(["--results", str(results)])

    assert exit_.value.code == 2
    assert "'grab won'" in capsys.readouterr().err


def test_the_command_prints_both_loads(tmp_path, capsys):
    results = tmp_path / "latest.json"
    results.write_text(json.dumps(report()))

    capacity.main(["--results", str(results), "--within", "5"])

    out = capsys.readouterr().out
    assert "1,000,000 claims a day, peak 10x the average" in out
    assert "30,000 grabs answered within 5 s (6,000 coupons)" in out
    assert "grabs a second" in out
