"""The "Simulate" button of a draft draw campaign in a real browser, 1366 px wide:
a campaign manager fills in the form and reads the table; a screenshot for the
back-office guide (docs/back-office/simulate-draw.png)."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from campaigns.models import Benefit, Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.roles import CAMPAIGN_MANAGER
from couponsite.tests.roles_support import staff_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
PASSWORD = "pw"  # roles_support.staff_in's


@pytest.fixture
def scene(transactional_db):
    """Made before the browser starts (see test_browser_over_time)."""
    campaign = CampaignFactory(
        name="Winter lucky draw",
        status=Campaign.Status.DRAFT,
        starts_at=dt.datetime(2026, 12, 1, tzinfo=PARIS),
        ends_at=dt.datetime(2026, 12, 8, tzinfo=PARIS),
    )
    CouponTypeFactory(
        campaign=campaign,
        name="10 EUR off",
        probability=Decimal("0.02"),
        amount=Decimal(10),
        currency="EUR",
        daily_quota=50,
        total_quota=300,
    )
    coffee = CouponTypeFactory(
        campaign=campaign,
        name="Free coffee",
        probability=Decimal("0.2"),
        benefit_kind=Benefit.Kind.FREE_ITEM,
        amount=None,
        currency="",
        free_item="A coffee",
    )
    staff_in(CAMPAIGN_MANAGER, "manager")
    return campaign, coffee


def test_a_campaign_manager_simulates_a_draft_draw(
    scene, browser_page, live_server, screenshots
):
    # given a draft draw and a campaign manager
    campaign, coffee = scene
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})

    # when they sign in, press Simulate and fill in the form
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.click("text=Simulate")
    page.fill("#id_participants_per_day", "3000")
    page.fill(
        "#id_hourly_profile",
        "1 1 1 1 1 1 2 4 6 8 8 10 12 10 8 8 8 10 12 12 10 6 4 2",
    )
    page.fill(f"#id_cost_{coffee.pk}", "1.50")
    page.fill(f"#id_rate_{coffee.pk}", "0.6")
    page.fill("#id_seed", "42")
    page.click("input[value=Simulate]")
    page.wait_for_selector("#simulation-total")

    # then the totals, each type and each of the 7 days are in the tables
    total = page.locator("#simulation-total tbody tr td")
    assert "EUR" in total.nth(1).text_content()
    types = page.locator("#simulation-types tbody tr")
    assert types.count() == 2
    # 3,000 x 2% = 60 hits a day against a daily quota of 50: it runs out daily
    assert "100% of runs" in types.nth(0).text_content()
    assert page.locator("#simulation-days tbody tr").count() == 7
    page.screenshot(path=screenshots / "simulate-draw.png", full_page=True)
