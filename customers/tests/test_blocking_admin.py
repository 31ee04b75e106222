"""Staff block and unblock a customer from the back office, with a reason that
the history keeps (customers.services.blocking, customers.admin)."""

import pytest

from couponsite.models import AuditEntry
from customers.models import Customer
from customers.services import BlockUnchanged, customer_block, customer_unblock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_page_button_blocks_with_a_reason_and_unblocks(admin_client, customer):
    page = f"/admin/customers/customer/{customer.pk}/change/"
    assert (
        'class="staff-change customer-block">Block<'
        in admin_client.get(page).content.decode()
    )

    asked = admin_client.get(f"/admin/customers/customer/{customer.pk}/block/block/")
    assert asked.status_code == 200 and b'name="reason"' in asked.content
    done = admin_client.post(
        f"/admin/customers/customer/{customer.pk}/block/block/",
        {"reason": "SMS pumping from this number"},
    )

    assert done.status_code == 302 and done.url == page
    customer.refresh_from_db()
    assert customer.blocked_at is not None
    assert customer.blocked_reason == "SMS pumping from this number"
    assert customer.blocked_by.username == "admin"
    (entry,) = AuditEntry.objects.filter(action="customer.blocked")
    assert (entry.acting_user.username, entry.reason, entry.target_id) == (
        "admin",
        "SMS pumping from this number",
        str(customer.pk),
    )
    shown = admin_client.get(page).content.decode()
    assert "customer-blocked-note" in shown and ">Unblock<" in shown

    admin_client.post(
        f"/admin/customers/customer/{customer.pk}/block/unblock/",
        {"reason": "Cleared by support"},
    )
    customer.refresh_from_db()
    assert (customer.blocked_at, customer.blocked_reason, customer.blocked_by) == (
        None,
        "",
        None,
    )
    assert AuditEntry.objects.get(action="customer.unblocked").reason == (
        "Cleared by support"
    )


def test_the_list_action_blocks_and_the_filter_finds_them(admin_client, customer):
    other = Customer.objects.create(phone="+14155550999")

    admin_client.post(
        "/admin/customers/customer/",
        {
            "action": "block",
            "_selected_action": [customer.pk],
            "apply": "1",
            "reason": "Many accounts, one device",
        },
    )

    assert Customer.objects.get(pk=customer.pk).blocked_at is not None
    assert Customer.objects.get(pk=other.pk).blocked_at is None
    listed = admin_client.get("/admin/customers/customer/?blocked_at__isempty=0")
    assert [c.pk for c in listed.context["cl"].result_list] == [customer.pk]
    assert b'class="customer-blocked"' in listed.content
    assert AuditEntry.objects.get(action="customer.blocked").reason == (
        "Many accounts, one device"
    )


def test_blocking_twice_is_refused_and_changes_nothing(customer, staff_user):
    customer_block(customer=customer, acting_user=staff_user, reason="first")

    with pytest.raises(BlockUnchanged):
        customer_block(customer=customer, acting_user=staff_user, reason="again")
    customer_unblock(customer=customer, acting_user=staff_user, reason="done")
    with pytest.raises(BlockUnchanged):
        customer_unblock(customer=customer, acting_user=staff_user, reason="again")

    assert AuditEntry.objects.filter(action="customer.blocked").count() == 1


def test_a_blocked_customer_may_still_sign_in_and_read(customer, api_client):
    from customers.services import token_create

    customer_block(customer=customer, acting_user=None, reason="pumping")
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )

    assert api_client.get("/api/v1/me").status_code == 200


def test_support_may_block_in_the_back_office_and_a_campaign_manager_may_not(
    client, customer
):
    from couponsite.roles import CAMPAIGN_MANAGER, SUPPORT
    from couponsite.tests.roles_support import staff_in

    page = f"/admin/customers/customer/{customer.pk}/change/"
    button = f"/admin/customers/customer/{customer.pk}/block/block/"
    seen = {}
    for role in (SUPPORT, CAMPAIGN_MANAGER):
        client.force_login(staff_in(role))
        seen[role] = (
            button in client.get(page).content.decode(),
            client.get(button).status_code,
        )
    client.force_login(staff_in(SUPPORT, username="support-2"))
    done = client.post(button, {"reason": "Scripted sign-ups"})

    assert seen == {SUPPORT: (True, 200), CAMPAIGN_MANAGER: (False, 403)}
    assert done.status_code == 302
    customer.refresh_from_db()
    assert customer.blocked_reason == "Scripted sign-ups"
