"""campaign_validate: the one set of rules a campaign meets (API and admin alike)."""

import datetime as dt
from decimal import Decimal

import pytest

from campaigns.models import CLAIM_VALID_DAYS_REFUSED
from campaigns.rules import (
    DRAW_WITHOUT_ODDS,
    ENDS_BEFORE_IT_STARTS,
    ENDS_IN_THE_PAST,
    RUSH_NOT_ONE_TYPE,
    RUSH_RATIO_ZERO,
    RUSH_TIME_FRACTION,
    TYPE_NAMES_REPEATED,
    campaign_validate,
)

NOW = dt.datetime(2026, 4, 24, 12, 0, tzinfo=dt.UTC)
PRIZE = {"name": "Prize", "probability": Decimal("0.5")}


def _fields(**changes) -> dict:
    """A valid draw, ahead of NOW, with the model's rush defaults."""
    return {
        "kind": "draw",
        "starts_at": NOW - dt.timedelta(days=1),
        "ends_at": NOW + dt.timedelta(days=30),
        "reservation_opens": dt.time(22, 55),
        "reservation_closes": dt.time(22, 59, 59),
        "rush_opens": dt.time(23, 0),
        "rush_closes": dt.time(23, 0, 59),
        "ratio": Decimal("0.2"),
        "coupon_types": [PRIZE],
        "now": NOW,
        **changes,
    }


@pytest.mark.parametrize("kind", ["draw", "claim", "rush"])
def test_a_valid_campaign_has_no_errors(kind):
    assert campaign_validate(**_fields(kind=kind)) == {}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"ends_at": NOW},
            {"ends_at": [ENDS_IN_THE_PAST]},
        ),
        (
            {"starts_at": NOW + dt.timedelta(days=31)},
            {"ends_at": [ENDS_BEFORE_IT_STARTS]},
        ),
        (
            {"coupon_types": [PRIZE, {"name": "Prize"}]},
            {"coupon_types": [TYPE_NAMES_REPEATED]},
        ),
        (
            {"coupon_types": [{"name": "A", "probability": Decimal(0)}, {"name": "B"}]},
            {"coupon_types": [DRAW_WITHOUT_ODDS]},
        ),
        (
            {"coupon_types": [], "kind": "draw"},
            {"coupon_types": [DRAW_WITHOUT_ODDS]},
        ),
        (
            {"coupon_types": [PRIZE, {"name": "B", "probability": Decimal("0.6")}]},
            {
                "coupon_types": [
                    "Probabilities add up to 1.100000; they may add up to 1 at most."
                ]
            },
        ),
        (
            {"kind": "rush", "coupon_types": [PRIZE, {"name": "B"}]},
            {"coupon_types": [RUSH_NOT_ONE_TYPE]},
        ),
        (
            {"kind": "rush", "ratio": Decimal(0)},
            {"ratio": [RUSH_RATIO_ZERO]},
        ),
        (
            {"kind": "rush", "rush_opens": dt.time(23, 0, 0, 500_000)},
            {"rush_opens": [RUSH_TIME_FRACTION]},
        ),
        (
            {"kind": "rush", "rush_opens": dt.time(22, 59)},
            {
                "rush_opens": [
                    "The rush must open after the reservation window closes, "
                    "within 12 hours."
                ]
            },
        ),
        (
            {"kind": "claim", "coupon_types": [{"name": "A", "valid_days": 30}]},
            {"coupon_types": [CLAIM_VALID_DAYS_REFUSED]},
        ),
    ],
)
def test_each_rule_names_its_field(changes, errors):
    assert campaign_validate(**_fields(**changes)) == errors


def test_the_kind_decides_which_rules_apply():
    """Odds matter to draws only, one type to rushes only, valid_days to claims only."""
    no_odds = [{"name": "A"}, {"name": "B", "valid_days": 7}]

    assert campaign_validate(**_fields(kind="draw", coupon_types=no_odds)) == {
        "coupon_types": [DRAW_WITHOUT_ODDS]
    }
    assert campaign_validate(**_fields(kind="rush", coupon_types=no_odds)) == {
        "coupon_types": [RUSH_NOT_ONE_TYPE]
    }
    assert campaign_validate(**_fields(kind="claim", coupon_types=no_odds)) == {
        "coupon_types": [CLAIM_VALID_DAYS_REFUSED]
    }


def test_a_rush_answers_every_broken_rule_at_once():
    errors = campaign_validate(
        **_fields(
            kind="rush",
            ratio=Decimal(0),
            reservation_opens=dt.time(22, 55, 0, 1),
            coupon_types=[PRIZE, PRIZE],
        )
    )

    assert errors == {
        "coupon_types": [RUSH_NOT_ONE_TYPE],
        "reservation_opens": [RUSH_TIME_FRACTION],
        "ratio": [RUSH_RATIO_ZERO],
    }


def test_a_claim_with_repeated_names_hears_of_both():
    errors = campaign_validate(
        **_fields(kind="claim", coupon_types=[PRIZE, {**PRIZE, "valid_days": 30}])
    )

    assert errors == {"coupon_types": [TYPE_NAMES_REPEATED, CLAIM_VALID_DAYS_REFUSED]}


def test_only_a_new_or_moved_end_must_lie_ahead():
    ended = _fields(
        starts_at=NOW - dt.timedelta(days=20), ends_at=NOW - dt.timedelta(days=10)
    )

    assert campaign_validate(**ended) == {"ends_at": [ENDS_IN_THE_PAST]}
    assert campaign_validate(**ended, creating=False) == {}
    assert campaign_validate(**ended, creating=False, end_moved=True) == {
        "ends_at": [ENDS_IN_THE_PAST]
    }


def test_a_changed_campaign_still_ends_after_it_starts():
    fields = _fields(
        starts_at=NOW - dt.timedelta(days=1), ends_at=NOW - dt.timedelta(days=2)
    )

    assert campaign_validate(**fields, creating=False) == {
        "ends_at": [ENDS_BEFORE_IT_STARTS]
    }


def test_values_left_out_skip_the_rules_that_read_them():
    """The admin checks the campaign's form without its coupon types (None), and a
    field that failed its own validation is None: no rule reads it."""
    assert campaign_validate(kind="draw") == {}
    assert campaign_validate(kind="rush", ratio=Decimal(0), rush_opens=None) == {
        "ratio": [RUSH_RATIO_ZERO]
    }
    assert campaign_validate(ends_at=NOW, starts_at=None, now=NOW) == {
        "ends_at": [ENDS_IN_THE_PAST]
    }
    assert campaign_validate(kind="draw", coupon_types=[{"name": None}]) == {
        "coupon_types": [DRAW_WITHOUT_ODDS]
    }
