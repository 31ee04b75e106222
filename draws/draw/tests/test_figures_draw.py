"""A lucky draw's dashboard: draws and wins today (the campaign's local day) and in
all, each type's quota use, the odds set beside the odds seen."""

import datetime as dt
from decimal import Decimal

import pytest

from campaigns.figures import campaign_dashboard, campaigns_headlines
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from customers.tests.factories import CustomerFactory
from draws.draw.services import draw_run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

UTC = dt.UTC
# 23:30 UTC on 29 November is 00:30 on the 30th in Berlin: a new local day there.
LATE_ON_29TH = dt.datetime(2026, 11, 29, 22, 30, tzinfo=UTC)  # 23:30 in Berlin, 29th
AFTER_BERLIN_MIDNIGHT = dt.datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # 00:30, 30th
NOW = dt.datetime(2026, 11, 29, 23, 45, tzinfo=UTC)


@pytest.fixture
def campaign():
    campaign = CampaignFactory(
        timezone="Europe/Berlin",
        starts_at=NOW - dt.timedelta(days=10),
        ends_at=NOW + dt.timedelta(days=10),
    )
    CouponTypeFactory(
        campaign=campaign,
        name="Gold",
        probability=Decimal("0.25"),
        daily_quota=4,
        total_quota=10,
    )
    CouponTypeFactory(campaign=campaign, name="Silver", probability=Decimal("0.25"))
    return campaign


def _draw(campaign, roll: float, now: dt.datetime) -> None:
    draw_run(campaign=campaign, customer=CustomerFactory(), roll=roll, now=now)


def test_draws_and_wins_count_by_the_campaigns_local_day(campaign):
    # given: a Gold win and a loss late on the 29th (Berlin), then a Gold win,
    # a Silver win and two losses after Berlin's midnight
    _draw(campaign, 0.1, LATE_ON_29TH)
    _draw(campaign, 0.9, LATE_ON_29TH)
    for roll in (0.1, 0.3, 0.8, 0.95):
        _draw(campaign, roll, AFTER_BERLIN_MIDNIGHT)

    # when
    dashboard = campaign_dashboard(campaign, NOW)

    # then: "today" is Berlin's 30th, whatever the UTC date
    assert (dashboard["zone"], dashboard["day"]) == (
        "Europe/Berlin",
        dt.date(2026, 11, 30),
    )
    assert (dashboard["draws_today"], dashboard["wins_today"]) == (4, 2)
    assert (dashboard["draws"], dashboard["wins"]) == (6, 3)
    assert dashboard["win_rate"] == pytest.approx(0.5)
    assert dashboard["configured_odds"] == Decimal("0.50")
    gold, silver = dashboard["types"]
    assert (gold["issued_today"], gold["daily_quota"], gold["share_today"]) == (
        1,
        4,
        25,
    )
    assert (gold["issued_total"], gold["total_quota"], gold["share_total"]) == (
        2,
        10,
        20,
    )
    assert (silver["issued_total"], silver["share_total"]) == (1, None)  # unlimited
    odds = {row["name"]: row for row in dashboard["odds"]}
    assert odds["Gold"]["observed"] == pytest.approx(2 / 6)
    assert odds["Silver"]["observed"] == pytest.approx(1 / 6)
    assert odds["Gold"]["probability"] == Decimal("0.25")


def test_a_draw_that_hits_a_spent_quota_is_a_draw_but_no_win(campaign):
    gold = campaign.coupon_types.get(name="Gold")
    for _ in range(5):  # the fifth Gold roll finds today's quota (4) spent
        _draw(campaign, 0.1, AFTER_BERLIN_MIDNIGHT)

    dashboard = campaign_dashboard(campaign, NOW)

    assert (dashboard["draws_today"], dashboard["wins_today"]) == (5, 4)
    assert dashboard["types"][0]["share_today"] == 100
    assert {row["name"]: row["wins"] for row in dashboard["odds"]}[gold.name] == 4
    assert campaigns_headlines([campaign], NOW)[campaign.pk]["headline"] == [
        ("draws today", 5),
        ("wins today", 4),
        ("coupons issued today", 4),
    ]


def test_a_campaign_without_draws_shows_no_rate_rather_than_zero(campaign):
    dashboard = campaign_dashboard(campaign, NOW)

    assert (dashboard["draws"], dashboard["win_rate"]) == (0, None)
    assert [row["observed"] for row in dashboard["odds"]] == [None, None]
