"""The Over time page of a draw campaign in a real browser, 1366 px wide: its charts
render from the page alone (nothing fetched but the admin's own files), and a
screenshot for the back-office guide (docs/back-office/over-time-draw.png)."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from customers.tests.factories import CustomerFactory
from draws.models import Draw
from vouchers.models import Voucher
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def draws_over_the_last_hour(campaign, now: dt.datetime) -> int:
    """A few draws every minute (one in three of them wins), some wins redeemed;
    none in the hour's first two minutes, which a slow page load may leave out."""
    coupon_type = CouponTypeFactory(campaign=campaign)
    customers = CustomerFactory.create_batch(5)
    made = 0
    for minute in range(58):
        at = now - dt.timedelta(minutes=minute)
        for n in range((minute * 7) % 5 + 1):
            won = (minute + n) % 3 == 0
            voucher = None
            if won:
                voucher = VoucherFactory(coupon_type=coupon_type, issued_at=at)
                if minute % 2:
                    Voucher.objects.filter(pk=voucher.pk).update(
                        status=Voucher.Status.REDEEMED,
                        used_at=at + dt.timedelta(seconds=20),
                    )
            Draw.objects.create(
                customer=customers[n],
                campaign=campaign,
                day=campaign.local_day(at)
                - dt.timedelta(days=minute),  # once a day each
                won=won,
                coupon_type=coupon_type if won else None,
                voucher=voucher,
                roll=0.5,
                created_at=at,
            )
            made += 1
    return made


@pytest.fixture
def scene(transactional_db):
    """Made before the browser starts: database calls inside Playwright's loop
    would open a connection the test database's teardown cannot close."""
    campaign = CampaignFactory(name="Lucky November", timezone="Europe/Paris")
    made = draws_over_the_last_hour(campaign, timezone.now() - dt.timedelta(seconds=5))
    User.objects.create_superuser("boss", "boss@example.com", "a-long-password")
    return campaign, made


def test_the_over_time_page_of_a_draw_campaign_draws_its_charts(
    scene, browser_page, live_server, screenshots
):
    # given a draw campaign with draws over the last hour, and a staff user
    campaign, made = scene
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})

    # when they sign in and open Over time from the campaign's page
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a-long-password")
    page.click("input[type=submit]")
    page.click("text=Over time")
    page.click("text=Last hour, per minute")
    page.wait_for_selector("svg.chart")

    # then both charts are there, readable, and the draws add up
    charts = page.locator("svg.chart")
    assert charts.count() == 2
    assert f"Draws ({made:,})" in charts.nth(0).text_content()
    box = charts.nth(0).bounding_box()
    assert box["width"] >= 900  # wide enough to read at 1366 px
    assert (
        page.locator("svg.chart > title")
        .first.text_content()
        .startswith("Draws and wins")
    )
    assert {urlsplit(url).hostname for url in page.sent} == {
        urlsplit(live_server.url).hostname
    }
    page.screenshot(path=screenshots / "over-time-draw.png", full_page=True)
