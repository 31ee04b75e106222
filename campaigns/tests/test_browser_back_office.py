"""The back office in a real browser: an employee signs in, watches a claim
campaign's dashboard count a claim made through the API without reloading the
page, and opens each kind's dashboard, the voucher pool and the start page.

The screenshots of docs/back-office.md are taken here: with
``COUPONSITE_SCREENSHOTS=1`` they replace docs/back-office/*.png, otherwise
they go to the test's temporary folder (a test run leaves the docs alone).
"""

import datetime as dt
import json
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CouponType
from campaigns.schedule import RushWindows
from campaigns.services import campaign_create
from customers.services import token_create
from draws.claim.releases import batch_release
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import make_customers
from draws.draw.services import draw_run
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import customers
from vouchers.models import Voucher
from vouchers.services import voucher_redeem
from vouchers.tests.factories import OfferFactory, VoucherFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1366, "height": 900}
PASSWORD = "back-office-test"


def _running(**fields) -> Campaign:
    now = timezone.now()
    return campaign_create(
        acting_user=None,
        starts_at=now - dt.timedelta(days=5),
        ends_at=now + dt.timedelta(days=60),
        **fields,
    )


def _percent_type(name: str, percent: int, **fields) -> dict:
    return {
        "name": name,
        "benefit_kind": CouponType.Kind.PERCENT,
        "percent": Decimal(percent),
        **fields,
    }


def _draw_scene() -> Campaign:
    campaign = _running(
        name="Lucky wheel",
        slug="lucky-wheel",
        kind=Campaign.Kind.DRAW,
        timezone="Asia/Singapore",
        coupon_types=[
            _percent_type("50% off", 50, probability=Decimal("0.05"), daily_quota=10),
            _percent_type("20% off", 20, probability=Decimal("0.15"), daily_quota=50),
            _percent_type("5% off", 5, probability=Decimal("0.30"), total_quota=1000),
        ],
    )
    for n, person in enumerate(make_customers(40, start=2000)):
        draw_run(campaign=campaign, customer=person, roll=(n * 0.37) % 1)
    return campaign


def _claim_scene(employee) -> Campaign:
    campaign = _running(
        name="Daily coupon drop",
        slug="daily-drop",
        kind=Campaign.Kind.CLAIM,
        timezone="Europe/Berlin",
        coupon_types=[
            _percent_type("10% off Electronics", 10, hold_seconds=300),
            _percent_type("15% off Sport", 15, hold_seconds=300),
        ],
    )
    electronics, sport = campaign.coupon_types.order_by("id")
    batch_release(coupon_type=electronics, count=300, acting_user=None, note="launch")
    batch_release(
        coupon_type=sport, count=200, acting_user=employee, note="weekend top-up"
    )
    for n, person in enumerate(make_customers(12, start=3000)):
        claim = claim_take(campaign=campaign, customer=person)
        if n % 4 == 0:
            voucher_redeem(code=claim.voucher.code, customer=person)
    return campaign


def _rush_scene() -> Campaign:
    """A nightly rush with its two latest nights: one sold out, one not."""
    rush_local_state_clear()
    campaign = _running(
        name="Nightly rush",
        slug="nightly-rush",
        kind=Campaign.Kind.RUSH,
        timezone="Asia/Taipei",
        ratio=Decimal("0.2"),
        coupon_types=[_percent_type("30% off tonight", 30, valid_days=2)],
    )
    windows = RushWindows.of(campaign)
    latest = windows.latest_cycle(campaign.tz, timezone.now())
    for back, (reserving, grabbing) in ((1, (20, 4)), (0, (15, 2))):
        cycle = windows.cycle(campaign.tz, latest.day - dt.timedelta(days=back))
        people = customers(reserving, start=100 * back)
        for person in people:
            rush_reserve(
                campaign=campaign,
                customer=person,
                now=cycle.reservation_opens + dt.timedelta(seconds=30),
            )
        with time_machine.travel(cycle.rush_opens + dt.timedelta(seconds=3)):
            for person in people[:grabbing]:
                rush_grab(campaign=campaign, customer=person)
    rush_local_state_clear()
    return campaign


def _voucher_pool() -> None:
    now = timezone.now()
    for name, states in (
        ("Newsletter 22.1%", ["issued"] * 6 + ["redeemed"] * 3 + ["expired"]),
        ("Welcome back 10%", ["issued"] * 2 + ["redeemed"]),
    ):
        offer = OfferFactory(name=name)
        for status in states:
            VoucherFactory(
                offer=offer,
                coupon_type=None,
                campaign=None,
                owner=None,
                email="someone@example.com",
                status=status,
                expires_at=now + dt.timedelta(days=-1 if status == "expired" else 30),
                used_at=now if status == Voucher.Status.REDEEMED else None,
            )


def _claim_through_the_api(base_url: str, campaign: Campaign) -> dict:
    (customer,) = make_customers(1, start=4000)
    request = urllib.request.Request(
        f"{base_url}/api/v1/campaigns/{campaign.slug}/claims",
        data=b"{}",
        method="POST",
        headers={
            "Authorization": f"Bearer {token_create(customer=customer).key}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())


def _sign_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}{reverse('admin:login')}")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#running-campaigns")


def _open_dashboard(page, base_url: str, campaign: Campaign):
    page.goto(
        f"{base_url}{reverse('admin:campaigns_campaign_change', args=[campaign.pk])}"
    )
    return page.wait_for_selector("#campaign-dashboard")


def _figure(page, name: str) -> str:
    return page.inner_text(f'#campaign-dashboard [data-figure="{name}"]').strip()


@pytest.fixture
def shots(screenshots) -> Path:
    return screenshots


def _shoot_dashboard(page, shot: Path) -> None:
    page.locator("fieldset", has=page.locator("#campaign-dashboard")).screenshot(
        path=shot
    )


def test_an_employee_watches_the_dashboards(browser_page, live_server, shots):
    # given: a campaign of each kind with some activity, and an employee
    page, base = browser_page, live_server.url
    page.set_viewport_size(VIEWPORT)
    employee = get_user_model().objects.create_superuser(
        username="maria", email="maria@example.com", password=PASSWORD
    )
    drop = _claim_scene(employee)
    wheel, rush = _draw_scene(), _rush_scene()
    _voucher_pool()

    # when: she signs in, the start page lists what runs now
    _sign_in(page, base, employee)
    start = page.inner_text("#running-campaigns")
    for campaign in (drop, wheel, rush):
        assert campaign.name in start
    page.screenshot(path=shots / "start-page.png")

    # and she opens the claim campaign while a customer claims through the API
    _open_dashboard(page, base, drop)
    assert _figure(page, "claims_today") == "12"
    page.evaluate("window.stillTheSamePage = true")
    _claim_through_the_api(base, drop)

    # then: the dashboard counts the claim by itself, without a reload
    page.wait_for_function(
        """() => document.querySelector('#campaign-dashboard [data-figure="claims_today"]')
                   .textContent.trim() === "13" """,
        timeout=20_000,
    )
    assert page.evaluate("window.stillTheSamePage") is True
    assert _figure(page, "held") == "10"  # 9 still held + the new claim
    assert "Europe/Berlin, local day" in page.inner_text("#campaign-dashboard")
    _shoot_dashboard(page, shots / "dashboard-claim.png")

    _open_dashboard(page, base, wheel)
    assert _figure(page, "draws_today") == "40"
    _shoot_dashboard(page, shots / "dashboard-draw.png")

    _open_dashboard(page, base, rush)
    assert page.locator("#campaign-dashboard .dashboard-days tbody tr").count() == 2
    _shoot_dashboard(page, shots / "dashboard-rush.png")

    page.goto(f"{base}{reverse('admin:vouchers_offer_changelist')}")
    assert page.inner_text('.voucher-pool-figures [data-figure="issued"]') == "13"
    page.screenshot(path=shots / "voucher-pool.png")

    # and nothing was fetched from anywhere but the site itself
    assert {url.split("/")[2] for url in page.sent} == {base.split("/")[2]}
    page.goto("about:blank")  # no refresh in flight when the server stops
    assert sorted(shot.name for shot in shots.glob("*.png")) == [
        "dashboard-claim.png",
        "dashboard-draw.png",
        "dashboard-rush.png",
        "start-page.png",
        "voucher-pool.png",
    ]
