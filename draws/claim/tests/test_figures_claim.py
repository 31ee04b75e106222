"""A claim campaign's dashboard: the pool by state, claims, holds and how many end
redeemed, when the pool sold out, and who released how many coupons."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.figures import campaign_dashboard, campaigns_headlines
from draws.claim.releases import batch_release
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, first_type, make_customers
from vouchers.services import voucher_redeem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def scene(staff_user):
    """A pool of 3 + 2 coupons (the 2 released by staff), all five claimed at
    ``start``; the first claimer redeems a minute later."""
    campaign = claim_campaign(released=3, hold_seconds=300, tz="America/New_York")
    batch_release(
        coupon_type=first_type(campaign), count=2, acting_user=staff_user, note="top-up"
    )
    start = timezone.now()
    claims = [
        claim_take(
            campaign=campaign, customer=person, now=start + dt.timedelta(seconds=n)
        )
        for n, person in enumerate(make_customers(5))
    ]
    voucher_redeem(
        code=claims[0].voucher.code,
        customer=claims[0].customer,
        now=start + dt.timedelta(minutes=1),
    )
    return campaign, start, claims


def test_while_the_holds_run_the_pool_is_sold_out(scene, staff_user):
    campaign, start, claims = scene

    dashboard = campaign_dashboard(campaign, start + dt.timedelta(minutes=2))

    assert dashboard["zone"] == "America/New_York"
    assert {
        name: dashboard[name]
        for name in ("available", "held", "redeemed", "lapsed", "claims_today")
    } == {"available": 0, "held": 4, "redeemed": 1, "lapsed": 0, "claims_today": 5}
    assert dashboard["conversion"] == 1.0  # the one claim that ended was redeemed
    assert dashboard["sold_out_at"] == claims[-1].created_at
    assert (dashboard["released_batches"], dashboard["released_coupons"]) == (2, 5)
    latest, first = dashboard["releases"]
    assert (latest["count"], latest["by"], latest["note"]) == (
        2,
        staff_user.get_username(),
        "top-up",
    )
    assert (first["count"], first["by"]) == (3, "a command")


def test_holds_that_run_out_lapse_and_free_their_coupons(scene):
    campaign, start, _ = scene

    dashboard = campaign_dashboard(campaign, start + dt.timedelta(seconds=400))

    assert (dashboard["available"], dashboard["held"], dashboard["lapsed"]) == (4, 0, 4)
    assert dashboard["redeemed"] == 1
    assert dashboard["conversion"] == pytest.approx(1 / 5)
    assert dashboard["sold_out_at"] is None  # coupons are free again
    later = start + dt.timedelta(seconds=400)
    assert campaigns_headlines([campaign], later)[campaign.pk]["headline"] == [
        ("claims today", 5),
        ("holds running", 0),
        ("free in the pool", 4),
    ]


def test_a_pool_never_released_is_not_sold_out():
    campaign = claim_campaign()

    dashboard = campaign_dashboard(campaign)

    assert (dashboard["available"], dashboard["claims"], dashboard["sold_out_at"]) == (
        0,
        0,
        None,
    )
    assert dashboard["conversion"] is None
    assert dashboard["releases"] == []
