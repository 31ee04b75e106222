"""The "Simulate" page of a draw campaign in the back office (Django's test client)."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Benefit, Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.roles import ANALYST, CAMPAIGN_MANAGER
from couponsite.tests.roles_support import staff_in

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture
def campaign():
    """A draft draw over two Paris days: 5 EUR off for everyone, 30 a day."""
    campaign = CampaignFactory(
        status=Campaign.Status.DRAFT,
        starts_at=dt.datetime(2026, 12, 1, tzinfo=PARIS),
        ends_at=dt.datetime(2026, 12, 3, tzinfo=PARIS),
    )
    CouponTypeFactory(
        campaign=campaign,
        name="Five off",
        probability=Decimal(1),
        amount=Decimal(5),
        currency="EUR",
        daily_quota=30,
    )
    return campaign


def change_url(campaign) -> str:
    return reverse("admin:campaigns_campaign_change", args=[campaign.pk])


def simulate_url(campaign) -> str:
    return reverse("campaign-simulate", args=[campaign.pk])


def test_a_campaign_manager_sees_the_button_and_gets_the_table(client, campaign):
    client.force_login(staff_in(CAMPAIGN_MANAGER))

    page = client.get(change_url(campaign)).content.decode()
    assert f'href="{simulate_url(campaign)}">Simulate</a>' in page

    form = client.get(simulate_url(campaign))
    assert form.status_code == 200
    assert 'id="simulation-form"' in form.content.decode()
    assert 'id="simulation-total"' not in form.content.decode()

    result = client.get(
        simulate_url(campaign),
        {
            "participants_per_day": "100",
            "hourly_profile": " ".join("1" if hour == 9 else "0" for hour in range(24)),
            "redemption_rate": "1",
            "runs": "20",
        },
    )
    assert result.status_code == 200
    assert result.context["result"]["total"]["expected_wins"] == 60  # 30 a day
    html = result.content.decode()
    assert "300.00 EUR" in html  # 60 x 5 EUR, certain
    # all arrive at 09:00, so the daily quota runs out then, each day
    assert "100% of runs, median Tue 01 Dec 09:00" in html


def test_a_short_hourly_profile_is_refused_and_only_winnable_types_are_asked(
    client, campaign
):
    CouponTypeFactory(
        campaign=campaign,
        name="Coffee",
        probability=Decimal(0),  # cannot be won: not asked for
        benefit_kind=Benefit.Kind.FREE_ITEM,
        free_item="A coffee",
    )
    coffee = CouponTypeFactory(
        campaign=campaign,
        name="Tea",
        probability=Decimal("0.000001"),
        benefit_kind=Benefit.Kind.FREE_ITEM,
        free_item="A tea",
    )
    client.force_login(staff_in(CAMPAIGN_MANAGER))

    response = client.get(
        simulate_url(campaign),
        {
            "participants_by_day": "10, 20, 30",
            "hourly_profile": "1 2 3",
            "redemption_rate": "1",
            "runs": "20",
        },
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert response.context["result"] is None
    assert "24 weights" in form.errors["hourly_profile"][0]
    assert f"cost_{coffee.pk}" in form.fields
    assert len([name for name in form.fields if name.startswith("cost_")]) == 2


def test_the_day_count_and_the_missing_cost_are_named(client, campaign):
    tea = CouponTypeFactory(
        campaign=campaign,
        name="Tea",
        probability=Decimal("0.1"),
        benefit_kind=Benefit.Kind.FREE_ITEM,
        free_item="A tea",
    )
    client.force_login(staff_in(CAMPAIGN_MANAGER))

    response = client.get(
        simulate_url(campaign),
        {"participants_by_day": "10 20 30", "redemption_rate": "1", "runs": "5"},
    )

    errors = response.context["form"].errors
    assert "2 local days" in errors["participants_by_day"][0]
    assert f"(id {tea.pk})" in errors["__all__"][0]
    assert response.context["result"] is None


def test_staff_who_may_not_change_campaigns_see_no_button_and_no_page(client, campaign):
    client.force_login(staff_in(ANALYST))

    page = client.get(change_url(campaign))
    assert page.status_code == 200  # they read the campaign…
    assert ">Simulate</a>" not in page.content.decode()
    assert client.get(simulate_url(campaign)).status_code == 403  # …not simulate


def test_another_kind_has_no_button_and_no_simulation(admin_client):
    claim = CampaignFactory(kind=Campaign.Kind.CLAIM)

    assert ">Simulate</a>" not in admin_client.get(change_url(claim)).content.decode()
    assert admin_client.get(simulate_url(claim)).status_code == 400
