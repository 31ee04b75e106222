"""The benchmark's verdict: it passes a run whose counts show the product right and
fails one that shows it wrong, scenario by scenario (CI's smoke run relies on it)."""

import copy

import pytest

from bench.scenarios import failures


def phase(statuses: dict[str, int], codes: dict[str, int] | None = None, **more):
    answered = sum(statuses.values())
    return {
        "requests": answered,
        "answered": answered,
        "statuses": statuses,
        "error_codes": codes or {},
        **more,
    }


# What each scenario reports when the product is right (as a real run does).
RIGHT = {
    "baseline": {"phases": {"me": phase({"200": 20_000})}, "correctness": {}},
    "healthz": {"phases": {"healthz": phase({"200": 30_000})}, "correctness": {}},
    "draw": {
        "phases": {"draws": phase({"201": 5_000})},
        "correctness": {
            "draws_recorded": 5_000,
            "wins": 500,
            "quota": 500,
            "issued_total": 500,
            "vouchers": 500,
            "oversold": 0,
            "false_losses": 0,
            "5xx": 0,
        },
    },
    "claim": {
        "phases": {"claims": phase({"201": 2_000, "409": 8_000}, {"SOLD_OUT": 8_000})},
        "correctness": {
            "coupons": 2_000,
            "claims": 2_000,
            "held": 2_000,
            "distinct_holders": 2_000,
            "coupons_with_two_claims": 0,
            "sold_out_answers": 8_000,
            "left_over": 0,
            "5xx": 0,
        },
    },
    "redeem": {
        "phases": {"redeem": phase({"200": 5_000})},
        "correctness": {
            "vouchers": 5_000,
            "redeemed": 5_000,
            "not_redeemed": 0,
            "5xx": 0,
        },
    },
    "release": {
        "phases": {"release-10000-api": phase({"201": 1})},
        "correctness": {
            "coupons_in_pool": 1_010_000,
            "expected": 1_010_000,
            "release_10000_api_seconds": 1.7,
            "release_1000000_command_seconds": 80.0,
            "5xx": 0,
        },
    },
    "generate": {
        "phases": {"generate-10000": phase({"201": 1})},
        "correctness": {
            "vouchers": 10_000,
            "distinct_codes": 10_000,
            "emails_queued": 10_000,
            "expected": 10_000,
            "generate_10000_seconds": 1.2,
            "5xx": 0,
        },
    },
    **{
        f"rush-{customers}": {
            "phases": {
                "reserve": phase({"201": customers}),
                "grab": phase(
                    {"201": customers // 5, "409": customers * 4 // 5},
                    {"SOLD_OUT": customers * 4 // 5},
                ),
            },
            "correctness": {
                "reservations": customers,
                "coupons": customers // 5,
                "expected_coupons": customers // 5,
                "winners": customers // 5,
                "vouchers_issued": customers // 5,
                "oversold": 0,
                "undersold": 0,
                "sold_out_answers": customers * 4 // 5,
                "unanswered": 0,
                "grab_phase_seconds": 0.5,
                "5xx": 0,
            },
        }
        for customers in (300, 30_000)
    },
}

# One way each scenario can show the product wrong: (change to the right
# correctness counts, what the verdict says).
WRONG = {
    "draw": (
        {"wins": 501, "oversold": 1},
        ["oversold = 1", "wins = 501, expected 500"],
    ),
    "claim": (
        {"held": 1_999, "left_over": 1},
        ["left_over = 1", "held = 1999, expected 2000"],
    ),
    "redeem": (
        {"redeemed": 4_999, "not_redeemed": 1},
        ["not_redeemed = 1", "redeemed = 4999, expected 5000"],
    ),
    "release": (
        {"coupons_in_pool": 1_009_999},
        ["coupons_in_pool = 1009999, expected 1010000"],
    ),
    "generate": (
        {"distinct_codes": 9_999},
        ["distinct_codes = 9999, expected 10000"],
    ),
    # The generation committed but its emails were not queued with it.
    "generate-no-emails": (
        {"emails_queued": 0},
        ["emails_queued = 0, expected 10000"],
    ),
    "rush-300": (
        {"coupons": 59, "winners": 59, "vouchers_issued": 59},
        [
            "coupons = 59, expected 60",
            "winners = 59, expected 60",
            "vouchers_issued = 59, expected 60",
        ],
    ),
    "rush-30000": (
        {"winners": 6_001, "oversold": 1},
        ["oversold = 1", "winners = 6001, expected 6000"],
    ),
}


def report(**scenarios) -> dict:
    return {"scenarios": scenarios}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_a_right_run_passes(name):
    assert failures(report(**{name: RIGHT[name]})) == []


def test_a_right_run_of_every_scenario_passes():
    # make bench runs them all; the generate scenario once failed it on its own
    # count ("generate: None coupons, expected 10000").
    assert failures(report(**RIGHT)) == []


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_counts_fail(case):
    name = case.removesuffix("-no-emails")
    result = copy.deepcopy(RIGHT[name])
    change, said = WRONG[case]
    result["correctness"].update(change)

    assert failures(report(**{name: result})) == [f"{name}: {what}" for what in said]


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_a_5xx_or_an_unanswered_request_fails(name):
    result = copy.deepcopy(RIGHT[name])
    phase_name, last = list(result["phases"].items())[-1]
    last["requests"] += 2  # one answered 500, one not at all
    last["answered"] += 1
    last["statuses"]["500"] = 1
    if "5xx" in result["correctness"]:
        result["correctness"]["5xx"] = 1

    found = failures(report(**{name: result}))

    assert f"{name}/{phase_name}: 1 unanswered" in found
    assert f"{name}/{phase_name}: 1 answered 500" in found
    if "5xx" in result["correctness"]:
        assert f"{name}: 5xx = 1" in found


def test_an_answer_the_scenario_does_not_expect_fails():
    # A grab refused for another reason than sold out (the window closed, a rate
    # limit) means customers who reserved were not served.
    result = copy.deepcopy(RIGHT["rush-300"])
    result["phases"]["grab"] = phase(
        {"201": 60, "409": 230, "429": 10},
        {"SOLD_OUT": 230, "RATE_LIMITED": 10},
    )
    result["correctness"]["sold_out_answers"] = 230

    assert failures(report(**{"rush-300": result})) == [
        "rush-300: sold_out_answers = 230, expected 240",
        "rush-300/grab: 10 answered 429",
        "rush-300/grab: 10 answered RATE_LIMITED",
    ]


def test_a_missing_count_fails():
    result = copy.deepcopy(RIGHT["generate"])
    del result["correctness"]["vouchers"]

    assert failures(report(generate=result)) == [
        "generate: vouchers = None, expected 10000"
    ]


def test_every_scenario_has_a_right_run_here_and_the_default_run_is_all_but_healthz():
    from bench.scenarios import ALL, DEFAULT

    assert set(RIGHT) == set(ALL)
    assert set(DEFAULT) == set(ALL) - {"healthz"}


def test_open_loop_connection_errors_fail_the_phase():
    # 30,000 arrivals in a second: a customer whose connection was refused, reset
    # or timed out got no answer.
    result = copy.deepcopy(RIGHT["rush-30000"])
    grab = result["phases"]["grab"]
    grab["statuses"]["409"] -= 3
    grab["error_codes"]["SOLD_OUT"] -= 3
    grab["answered"] -= 3
    grab["unanswered"] = {"refused": 1, "reset": 1, "timed_out": 1}
    result["correctness"]["sold_out_answers"] -= 3
    result["correctness"]["unanswered"] = 3

    assert failures(report(**{"rush-30000": result})) == [
        "rush-30000: unanswered = 3",
        "rush-30000: sold_out_answers = 23997, expected 24000",
        "rush-30000/grab: 3 unanswered",
    ]


def on_two_nodes(sent: int = 400, differing: int = 0) -> dict:
    """rush-30000 as the cluster topology reports it: repeats sent to each node."""
    result = copy.deepcopy(RIGHT["rush-30000"])
    result["correctness"].update(
        repeats_sent=sent, repeats_same=sent - differing, repeats_differing=differing
    )
    result["repeats"] = {
        "sent": sent,
        "same": sent - differing,
        "differing": differing,
        "examples": [
            {
                "customer": 301,
                "kind": "again",
                "node": "http://127.0.0.1:8052",
                "expected": "(409, 'ALREADY_RECEIVED')",
                "got": [409, "SOLD_OUT", None],
            }
        ][:differing],
    }
    return result


def test_repeats_that_each_node_answers_alike_pass():
    assert failures(report(**{"rush-30000": on_two_nodes()})) == []


def test_a_repeat_answered_otherwise_by_the_other_node_fails():
    # A winner asked again on the node that did not serve the grab heard SOLD_OUT
    # instead of ALREADY_RECEIVED: two answers for one customer.
    found = failures(report(**{"rush-30000": on_two_nodes(differing=1)}))

    assert len(found) == 2
    assert found[0].startswith("rush-30000: repeats_differing = 1 of 400 (e.g. [")
    assert "ALREADY_RECEIVED" in found[0]
    assert found[1] == "rush-30000: repeats_same = 399, expected 400"


def test_a_cluster_run_that_sent_no_repeat_fails():
    found = failures(report(**{"rush-30000": on_two_nodes(sent=0)}))

    assert found == ["rush-30000: no repeat was sent"]
