"""The back office in a real browser (Chromium), at a 1,366 px wide screen: a draw
campaign made through its form (kind first), coupons released for a claim
campaign, each role refused what it may not do, and a voucher list that fits.
Screenshots go to docs/back-office/ (docs/back-office.md shows them)."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.models import Campaign
from couponsite.roles import ANALYST, CAMPAIGN_MANAGER, SUPPORT
from couponsite.tests.roles_support import staff_in
from draws.claim.tests.claim_helpers import claim_campaign, first_type
from draws.pool import Release
from vouchers.models import Voucher
from vouchers.tests.factories import VoucherFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SCREEN = {"width": 1366, "height": 800}


@pytest.fixture
def page(browser_page, live_server):
    browser_page.set_viewport_size(SCREEN)
    browser_page.base = live_server.url
    return browser_page


def _sign_in(page, username: str, password: str = "pw") -> None:
    page.context.clear_cookies()
    page.goto(f"{page.base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "/admin/login/" not in page.url


def _boss(page) -> None:
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    _sign_in(page, "boss")


def test_a_draw_campaign_is_made_through_its_form_kind_first(page, screenshots):
    _boss(page)
    tomorrow = timezone.localdate() + timezone.timedelta(days=1)

    # the kind first
    page.goto(f"{page.base}/admin/campaigns/campaign/add/")
    page.click("a[data-kind=draw]")
    # then the draw's form: no rush windows, no hold
    assert page.locator("#id_ratio").count() == 0
    page.fill("#id_name", "Browser lucky draw")
    page.fill("#id_timezone", "Pacific/Auckland")
    page.fill("#id_starts_at_0", str(timezone.localdate()))
    page.fill("#id_starts_at_1", "00:00:00")
    page.fill("#id_ends_at_0", str(tomorrow.replace(year=tomorrow.year + 1)))
    page.fill("#id_ends_at_1", "00:00:00")
    page.click("#coupon_types-group .add-row a")
    page.fill("#id_coupon_types-0-name", "10% off")
    page.fill("#id_coupon_types-0-percent", "10")
    page.fill("#id_coupon_types-0-probability", "0.25")
    page.fill("#id_coupon_types-0-daily_quota", "100")
    assert page.locator("#id_coupon_types-0-hold_seconds").count() == 0
    page.screenshot(path=screenshots / "campaign-form-draw.png", full_page=True)
    page.click("input[name=_save]")

    page.wait_for_selector(".messagelist .success")
    campaign = Campaign.objects.get(name="Browser lucky draw")
    assert (campaign.kind, campaign.slug) == ("draw", "browser-lucky-draw")
    assert campaign.coupon_types.get().daily_quota == 100


def test_10000_coupons_are_released_for_a_claim_campaign(page):
    _boss(page)
    coupon_type = first_type(claim_campaign(slug="browser-drop"))

    page.goto(f"{page.base}/admin/draws/release/add/")
    page.select_option("#id_coupon_type", str(coupon_type.pk))
    page.fill("#id_count", "10000")
    page.click("input[name=_save]")

    page.wait_for_selector(".messagelist .success")
    assert Release.objects.get().count == 10_000
    assert Voucher.objects.filter(coupon_type=coupon_type).count() == 10_000


# role, a page it may open, a page it is refused (403)
ROLES = [
    (CAMPAIGN_MANAGER, "/admin/campaigns/campaign/add/?kind=draw", "/admin/customers/customer/"),
    (SUPPORT, "/admin/customers/customer/", "/admin/campaigns/campaign/add/?kind=draw"),
    (ANALYST, "/admin/couponsite/auditentry/", "/admin/draws/release/add/"),
]  # fmt: skip


def test_each_role_is_refused_what_it_may_not_do(page):
    VoucherFactory()
    for role, allowed, refused in ROLES:
        _sign_in(page, staff_in(role).username)

        assert page.goto(f"{page.base}{allowed}").status == 200, role
        assert page.goto(f"{page.base}{refused}").status == 403, role
        page.goto(f"{page.base}/admin/vouchers/voucher/")
        actions = page.locator("select[name=action] option").all_inner_texts()
        assert ("Void selected vouchers" in actions) == (role != ANALYST), role


def test_the_voucher_list_fits_a_1366_px_screen_with_codes_on_one_line(
    page, screenshots
):
    _boss(page)
    coupon_type = first_type(claim_campaign(slug="long-summer-drop-2026"))
    for n in range(12):
        VoucherFactory(
            coupon_type=coupon_type,
            email=f"customer.with.a.rather.long.name.{n}@example-company.com",
        )

    page.goto(f"{page.base}/admin/vouchers/voucher/")

    table, container = page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            return [table.scrollWidth, table.parentElement.clientWidth];
        }"""
    )
    lines = page.evaluate(
        """() => [...document.querySelectorAll('#result_list .field-code_display')]
            .map(cell => {
                const range = document.createRange();
                range.selectNodeContents(cell);
                const tops = [...range.getClientRects()].map(r => Math.round(r.top));
                return new Set(tops).size;
            })"""
    )
    page.screenshot(path=screenshots / "vouchers-list.png")
    assert table <= container, f"the table is {table} px wide in {container} px"
    assert len(lines) == 12 and set(lines) == {1}
