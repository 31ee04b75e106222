"""A campaign's figures: one source for each, the same in the API and the admin,
whatever the mode handed the coupon out (draw, claim, grab)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from campaigns.figures import campaign_figures
from campaigns.models import CouponType
from campaigns.tests.dashboard_support import admin_figures
from campaigns.tests.factories import CouponTypeFactory
from customers.tests.factories import CustomerFactory
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign
from draws.draw.services import draw_run
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import RESERVING, RUSHING, customers, rush_campaign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/campaigns"


def _api_figures(client, campaign) -> dict:
    return client.get(f"{URL}/{campaign.slug}").json()["today"]


def _admin_figures(client, campaign) -> dict:
    """The figures of the admin's dashboard (``data-figure`` marks each), read
    from the campaign page."""
    page = client.get(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    ).content.decode()
    return admin_figures(page)


def _assert_one_story(api_client, admin_client, campaign, issued: int, held: int):
    api = _api_figures(api_client, campaign)
    (kind,) = api["coupon_types"]
    assert api["vouchers_issued"] == issued
    assert (kind["issued_today"], kind["issued_total"]) == (issued, issued)
    assert api["holds_now"] == held
    admin = _admin_figures(admin_client, campaign)
    assert (admin["issued_today"], admin["issued_total"]) == (issued, issued)
    assert admin.get("held", 0) == held


@pytest.fixture(autouse=True)
def _fresh_rush_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


def test_a_grab_shows_in_every_figure(api_client, admin_client):
    campaign = rush_campaign(slug="tonight")
    people = customers(5)
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)

    with time_machine.travel(RUSHING, tick=False):
        rush_grab(campaign=campaign, customer=people[0])

        _assert_one_story(api_client, admin_client, campaign, issued=1, held=0)
        assert _api_figures(api_client, campaign)["rush"]["grabs"] == 1


def test_a_claim_shows_while_held_and_leaves_when_the_hold_runs_out(
    api_client, admin_client
):
    campaign = claim_campaign(released=3, hold_seconds=300)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        claim_take(campaign=campaign, customer=CustomerFactory())
        _assert_one_story(api_client, admin_client, campaign, issued=1, held=1)
    with time_machine.travel(start + dt.timedelta(seconds=301), tick=False):
        # the coupon is back in the pool (no sweeper needed): no longer issued
        _assert_one_story(api_client, admin_client, campaign, issued=0, held=0)


def test_draw_wins_agree_with_the_quota_counters(api_client, admin_client):
    coupon_type = CouponTypeFactory(probability=1, daily_quota=5, total_quota=50)
    campaign = coupon_type.campaign
    for _ in range(2):
        draw_run(campaign=campaign, customer=CustomerFactory())

    _assert_one_story(api_client, admin_client, campaign, issued=2, held=0)
    (kind,) = _api_figures(api_client, campaign)["coupon_types"]
    counters = CouponType.objects.get(pk=coupon_type.pk)
    assert (kind["issued_today"], kind["issued_total"]) == (
        counters.issued_on(campaign.local_day()),
        counters.issued_total,
    )
    assert (kind["left_today"], kind["left_total"]) == (3, 48)


def test_yesterdays_coupons_count_in_total_but_not_today():
    coupon_type = CouponTypeFactory(probability=1, daily_quota=5)
    campaign = coupon_type.campaign
    yesterday = timezone.now() - dt.timedelta(days=1)
    draw_run(campaign=campaign, customer=CustomerFactory(), now=yesterday)
    draw_run(campaign=campaign, customer=CustomerFactory())

    figures = campaign_figures(campaign)

    (kind,) = figures["coupon_types"]
    assert (kind["issued_today"], kind["issued_total"]) == (1, 2)
    assert (kind["left_today"], figures["vouchers_issued"]) == (4, 2)
