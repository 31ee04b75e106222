"""The benchmark's verdict on correctness counts (what CI's smoke run relies on)."""

from bench.scenarios import failures


def _report(correctness: dict, answered: int = 10, requests: int = 10) -> dict:
    phase = {"requests": requests, "answered": answered}
    return {
        "scenarios": {
            "rush-300": {"phases": {"grab": phase}, "correctness": correctness}
        }
    }


def test_clean_counts_pass():
    assert (
        failures(
            _report(
                {
                    "oversold": 0,
                    "undersold": 0,
                    "5xx": 0,
                    "coupons": 60,
                    "expected_coupons": 60,
                }
            )
        )
        == []
    )


def test_any_oversell_undersell_or_5xx_fails():
    found = failures(_report({"oversold": 1, "undersold": 2, "5xx": 3}))

    assert found == [
        "rush-300: oversold = 1",
        "rush-300: undersold = 2",
        "rush-300: 5xx = 3",
    ]


def test_wrong_coupon_count_and_unanswered_requests_fail():
    found = failures(_report({"coupons": 59, "expected_coupons": 60}, answered=9))

    assert found == ["rush-300: 59 coupons, expected 60", "rush-300/grab: 1 unanswered"]
