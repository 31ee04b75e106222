"""A rush's dashboard: per rush day its reservations, the coupons they made, the
grabs, what is left and when the day sold out; the latest cycle on top."""

import datetime as dt

import pytest
import time_machine

from campaigns.figures import campaign_dashboard, campaigns_headlines
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    at,
    customers,
    rush_campaign,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DAY_BEFORE = DAY - dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _fresh_rush_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


def test_each_rush_day_shows_its_reservations_coupons_grabs_and_sell_out():
    # given: the day before, 10 reservations (2 coupons at 0.2), one grab;
    # on DAY, 5 reservations (1 coupon), grabbed: sold out
    campaign = rush_campaign(slug="nightly")
    earlier = customers(10, start=100)
    for person in earlier:
        rush_reserve(campaign=campaign, customer=person, now=at(DAY_BEFORE, "22:57:00"))
    with time_machine.travel(at(DAY_BEFORE, "23:00:05"), tick=False):
        rush_grab(campaign=campaign, customer=earlier[0])
    people = customers(5)
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    with time_machine.travel(RUSHING, tick=False):
        grab = rush_grab(campaign=campaign, customer=people[0])

    # when
    dashboard = campaign_dashboard(campaign, RUSHING + dt.timedelta(seconds=5))

    # then
    assert (dashboard["zone"], dashboard["day"]) == ("Asia/Taipei", DAY)
    cycle = dashboard["cycle"]
    assert (cycle["day"], cycle["reservations"], cycle["coupons"], cycle["grabs"]) == (
        DAY,
        5,
        1,
        1,
    )
    assert (dashboard["left"], cycle["sold_out_at"]) == (0, grab.created_at)
    today, before = dashboard["days"]
    assert today == {
        "day": DAY,
        "reservations": 5,
        "coupons": 1,
        "grabs": 1,
        "left": 0,
        "sold_out_at": grab.created_at,
        "ratio": today["ratio"],
    }
    assert (before["day"], before["reservations"], before["coupons"]) == (
        DAY_BEFORE,
        10,
        2,
    )
    assert (before["grabs"], before["left"], before["sold_out_at"]) == (1, 1, None)
    assert dashboard["types"][0]["issued_total"] == 2
    assert campaigns_headlines([campaign], RUSHING)[campaign.pk]["headline"] == [
        (f"reservations ({DAY})", 5),
        ("grabs", 1),
        ("coupons left", 0),
    ]


def test_before_any_reservation_the_latest_cycle_is_empty():
    campaign = rush_campaign(slug="quiet")

    dashboard = campaign_dashboard(campaign, RESERVING)

    assert dashboard["days"] == []
    assert dashboard["cycle"]["day"] == DAY
    assert (dashboard["cycle"]["reservations"], dashboard["left"]) == (0, 0)
