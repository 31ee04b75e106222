"""A customer's admin page tells their story: the latest of their vouchers,
draws, claims, reservations, grabs and the codes sent to them, each row linked
to its page, in one query a panel; staff find them by phone or email."""

import re

import pytest
from django.urls import reverse

from couponsite.codes import display_code
from couponsite.testing.admin import staff_client
from customers.admin_story import STORY_ROWS
from customers.models import Customer, OneTimeCode
from customers.services import email_verification_start, otp_send
from customers.tests.factories import CustomerFactory
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign
from draws.models import Claim, Draw, Grab, Reservation
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import RESERVING, RUSHING, customers, rush_campaign
from draws.tests.factories import DrawFactory
from messaging.tests.support import sms_sent
from vouchers.models import Voucher
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _page(customer: Customer) -> str:
    return reverse("admin:customers_customer_change", args=[customer.pk])


def _change(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def _story(html: str) -> str:
    return html[html.index('id="customer-story"') :]


def _lived(customer: Customer, *, vouchers: int = 1, draws: int = 1) -> None:
    """A customer who took part every way there is."""
    VoucherFactory.create_batch(vouchers, owner=customer)
    DrawFactory.create_batch(draws, customer=customer)
    claim_take(
        campaign=claim_campaign(slug=f"drop-{customer.pk}", released=1),
        customer=customer,
    )
    rush_local_state_clear()
    rush = rush_campaign(slug=f"rush-{customer.pk}")
    for person in [customer, *customers(4, start=customer.pk * 10)]:
        rush_reserve(campaign=rush, customer=person, now=RESERVING)
    rush_grab(campaign=rush, customer=customer, now=RUSHING)
    rush_local_state_clear()
    otp_send(phone=customer.phone)
    email_verification_start(customer=customer, email="story@example.com")


def test_the_page_shows_each_kind_of_row_linked_to_its_page(
    admin_client, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _lived(customer)
    sent_code = re.search(r"\d{6}", sms_sent()[-1].body).group(0)

    story = _story(admin_client.get(_page(customer)).content.decode())

    for title in ["Vouchers", "Draws", "Claims", "Reservations", "Grabs"]:
        assert f"<caption>{title}</caption>" in story
    for row in [
        Voucher.objects.filter(owner=customer).first(),
        Draw.objects.get(customer=customer),
        Claim.objects.get(customer=customer),
        Reservation.objects.get(customer=customer),
        Grab.objects.get(customer=customer),
        OneTimeCode.objects.get(phone=customer.phone),
        customer.email_verification,
    ]:
        assert f'href="{_change(row)}"' in story, row
    grab = Grab.objects.get(customer=customer)
    assert display_code(grab.voucher.code) in story
    assert "story@example.com" in story
    code_row = OneTimeCode.objects.get(phone=customer.phone)
    assert sent_code not in story and code_row.code_hash not in story


def test_a_panel_shows_the_latest_rows_and_links_to_all_of_them(admin_client):
    customer = CustomerFactory()
    vouchers = VoucherFactory.create_batch(STORY_ROWS + 2, owner=customer)
    VoucherFactory()  # someone else's

    story = _story(admin_client.get(_page(customer)).content.decode())
    full = (
        f"{reverse('admin:vouchers_voucher_changelist')}?owner__id__exact={customer.pk}"
    )
    listed = admin_client.get(full)

    shown = [v for v in vouchers if display_code(v.code) in story]
    assert shown == vouchers[-STORY_ROWS:]  # the newest
    assert f'href="{full}">All of them' in story
    assert listed.context["cl"].result_count == STORY_ROWS + 2


@pytest.mark.parametrize("rows", [1, STORY_ROWS + 5])
def test_the_page_takes_the_same_queries_however_long_the_story(
    admin_client, django_assert_num_queries, rows
):
    customer = CustomerFactory()
    _lived(customer, vouchers=rows, draws=rows)
    admin_client.get(_page(customer))  # warm the per-process caches (content types)

    # session, user, customer, tokens inline, one query per table (7)
    with django_assert_num_queries(11):
        response = admin_client.get(_page(customer))

    assert response.status_code == 200


def test_staff_see_only_the_panels_of_what_they_may_view():
    customer = CustomerFactory()
    VoucherFactory(owner=customer)
    DrawFactory(customer=customer)
    client = staff_client("customers.view_customer", "draws.view_draw")

    story = _story(client.get(_page(customer)).content.decode())

    assert "<caption>Draws</caption>" in story
    assert "Vouchers" not in story
    assert "None yet: Claims" not in story  # nor claims, which they may not view


def test_staff_who_may_not_view_customers_are_refused_the_page():
    client = staff_client("vouchers.view_voucher")

    assert client.get(_page(CustomerFactory())).status_code == 403


@pytest.mark.parametrize(
    "typed", ["+1 415 555 0123", "+1 (415) 555-0123", "+14155550123"]
)
def test_search_finds_a_phone_however_written(admin_client, typed):
    wanted = CustomerFactory(phone="+14155550123")
    CustomerFactory(phone="+14155550124")

    response = admin_client.get(
        reverse("admin:customers_customer_changelist"), {"q": typed}
    )

    assert list(response.context["cl"].result_list) == [wanted]


def test_search_finds_an_email_in_any_case(admin_client):
    wanted = CustomerFactory(email="someone@example.com")
    CustomerFactory(email="someone.else@example.com")

    response = admin_client.get(
        reverse("admin:customers_customer_changelist"), {"q": "Someone@Example.COM"}
    )

    assert list(response.context["cl"].result_list) == [wanted]
