"""A voucher's admin page: its code as customers see it, its history as a
timeline naming who and why, and void / roll-back buttons that ask why."""

import pytest
from django.urls import reverse
from django.utils import timezone

from couponsite.codes import display_code
from couponsite.testing.admin import staff_client
from vouchers.models import Voucher, VoucherEvent
from vouchers.services import voucher_redeem, voucher_void
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _page(voucher: Voucher) -> str:
    return reverse("admin:vouchers_voucher_change", args=[voucher.pk])


def _button(voucher: Voucher, change: str) -> str:
    return reverse("admin:vouchers_voucher_staff_change", args=[voucher.pk, change])


def _redeemed() -> Voucher:
    voucher = VoucherFactory()
    voucher_redeem(code=voucher.code, customer=voucher.owner, order_ref="O-77")
    voucher.refresh_from_db()
    return voucher


def test_the_code_is_shown_grouped_on_one_line_in_the_list_and_the_page(
    admin_client,
):
    voucher = VoucherFactory()
    shown = f'<span class="nowrap voucher-code">{display_code(voucher.code)}</span>'

    listed = admin_client.get(reverse("admin:vouchers_voucher_changelist"))
    page = admin_client.get(_page(voucher))

    assert shown in listed.content.decode()
    assert shown in page.content.decode()


def test_the_timeline_names_what_happened_who_did_it_and_why(admin_client, admin_user):
    voucher = _redeemed()
    voucher_void(voucher=voucher, acting_user=admin_user, reason="stolen card")

    html = admin_client.get(_page(voucher)).content.decode()

    timeline = html[html.index('class="voucher-timeline"') :]
    assert timeline.index("Redeemed") < timeline.index("Voided")  # oldest first
    assert "order_ref: O-77" in timeline
    assert f"by staff <em>{admin_user.username}</em>" in timeline
    assert "why: “stolen card”" in timeline
    assert voucher.owner.phone in timeline


def test_void_button_asks_why_then_voids_and_returns_to_the_page(
    admin_client, admin_user
):
    voucher = _redeemed()

    page = admin_client.get(_page(voucher)).content.decode()
    ask = admin_client.get(_button(voucher, "void"))
    done = admin_client.post(_button(voucher, "void"), {"reason": "fraud"})

    assert _button(voucher, "void") in page and _button(voucher, "rollback") in page
    assert ask.status_code == 200 and 'name="reason"' in ask.content.decode()
    assert done.status_code == 302 and done["Location"] == _page(voucher)
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.VOID
    event = VoucherEvent.objects.get(voucher=voucher, kind="voided")
    assert (event.actor, event.reason) == (admin_user, "fraud")


def test_no_reason_no_change(admin_client):
    voucher = VoucherFactory()

    response = admin_client.post(_button(voucher, "void"), {"reason": ""})

    assert response.status_code == 200 and "This field is required" in (
        response.content.decode()
    )
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


def test_rollback_button_only_for_a_redeemed_voucher(admin_client, admin_user):
    issued, redeemed = VoucherFactory(), _redeemed()

    issued_page = admin_client.get(_page(issued)).content.decode()
    admin_client.post(_button(redeemed, "rollback"), {"reason": "order cancelled"})

    assert _button(issued, "rollback") not in issued_page
    redeemed.refresh_from_db()
    assert redeemed.status == Voucher.Status.ISSUED and redeemed.used_at is None
    event = VoucherEvent.objects.get(voucher=redeemed, kind="rolled_back")
    assert (event.actor, event.reason, event.data) == (
        admin_user,
        "order cancelled",
        {"order_ref": "O-77"},
    )


def test_a_refused_change_is_reported_and_changes_nothing(admin_client, admin_user):
    voucher = VoucherFactory()  # issued: nothing to roll back

    response = admin_client.post(
        _button(voucher, "rollback"), {"reason": "try"}, follow=True
    )

    assert "Only a redeemed voucher" in response.content.decode()
    assert not VoucherEvent.objects.filter(voucher=voucher).exists()


def test_view_only_staff_see_the_page_without_buttons_and_are_refused_them():
    voucher = VoucherFactory()
    client = staff_client("vouchers.view_voucher")

    page = client.get(_page(voucher))
    refused = client.post(_button(voucher, "void"), {"reason": "fraud"})

    assert page.status_code == 200
    html = page.content.decode()
    assert _button(voucher, "void") not in html and 'name="_save"' not in html
    assert refused.status_code == 403
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


def test_staff_without_the_view_permission_are_refused_the_page():
    client = staff_client("customers.view_customer")

    assert client.get(_page(VoucherFactory())).status_code == 403


def test_an_unknown_button_is_not_found(admin_client):
    assert admin_client.get(_button(VoucherFactory(), "melt")).status_code == 404


@pytest.mark.parametrize("events", [1, 12])
def test_the_page_takes_the_same_queries_however_long_the_history(
    admin_client, admin_user, django_assert_num_queries, events
):
    voucher = VoucherFactory(release=None)
    VoucherEvent.objects.bulk_create(
        VoucherEvent(
            voucher=voucher,
            kind=VoucherEvent.Kind.CLAIMED,
            customer=voucher.owner,
            actor=admin_user,
            created_at=timezone.now(),
        )
        for _ in range(events)
    )
    url = _page(voucher)
    admin_client.get(url)  # warm the per-process caches (content types)

    # session, user, the voucher with what it names, its timeline
    with django_assert_num_queries(4):
        response = admin_client.get(url)

    assert response.status_code == 200
