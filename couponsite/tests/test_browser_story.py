"""The back office in a real browser: find a customer by phone and read their
story, void a redeemed voucher from its page with a reason and see it in the
timeline, export the vouchers a filter matches. Writes the screenshots of
docs/back-office.md (docs/back-office/customer.png, voucher.png)."""

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from couponsite.codes import display_code
from customers.services import otp_send
from customers.tests.factories import CustomerFactory
from draws.tests.factories import DrawFactory
from vouchers.models import Voucher, VoucherEvent
from vouchers.services import voucher_redeem
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_find_a_customer_void_their_voucher_and_export(
    browser_page, live_server, screenshots
):
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    customer = CustomerFactory(phone="+14155550123", name="Ada Lovelace")
    redeemed = VoucherFactory(owner=customer)
    voucher_redeem(code=redeemed.code, customer=customer, order_ref="ORDER-991")
    issued = VoucherFactory.create_batch(3, owner=customer)
    VoucherFactory(status=Voucher.Status.REDEEMED, used_at=timezone.now())
    DrawFactory(customer=customer)
    otp_send(phone=customer.phone)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})

    # sign in
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw-boss-1")
    page.click("input[type=submit]")

    # find the customer by their phone as they would say it, read their story
    page.goto(f"{live_server.url}/admin/customers/customer/")
    page.fill("#searchbar", "+1 415 555 0123")
    page.press("#searchbar", "Enter")
    page.click("#result_list a:has-text('+14155550123')")
    story = page.locator("#customer-story")
    story.wait_for()
    assert display_code(redeemed.code) in story.inner_text()
    page.screenshot(path=str(screenshots / "customer.png"), full_page=True)

    # from the story to the voucher, void it with a reason
    story.get_by_role("link", name=display_code(redeemed.code)).click()
    page.click("a.staff-change:has-text('Void this voucher')")
    page.fill("#id_reason", "chargeback")
    page.click("input[type=submit][value='Void this voucher']")
    timeline = page.locator(".voucher-timeline")
    timeline.wait_for()
    assert "Voided" in timeline.inner_text()
    assert "chargeback" in timeline.inner_text()
    assert "ORDER-991" in timeline.inner_text()  # the redemption before it
    page.screenshot(path=str(screenshots / "voucher.png"), full_page=True)
    event = VoucherEvent.objects.get(voucher=redeemed, kind="voided")
    assert (event.actor.username, event.reason) == ("boss", "chargeback")

    # the vouchers a filter matches, all of them, as CSV
    page.goto(f"{live_server.url}/admin/vouchers/voucher/")
    page.click("#changelist-filter a:has-text('Issued')")
    page.wait_for_url("**status__exact=issued**")
    with page.expect_download() as download:
        page.click("a.csv-export")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sorted(row["code"] for row in rows) == sorted(
        display_code(voucher.code) for voucher in issued
    )
    assert {row["phone"] for row in rows} == {"+14155550123"}
    # Under Playwright's sync API this test's queries ran on a connection of
    # their own (another contextvars context than pytest-django's), which
    # nothing else closes: close it, or the test database cannot be dropped.
    connection.close()
