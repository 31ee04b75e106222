"""Staff edits of customers and the staff tokens they make or revoke are recorded in
the audit log, with who did it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from couponsite.models import AuditEntry
from customers.models import ApiToken
from customers.services import token_create
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_customer_edit_records_the_fields_it_changed(admin_client, admin_user):
    customer = CustomerFactory(name="Ann", is_active=True)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    created = customer.created_at

    response = admin_client.post(
        url,
        {
            "phone": customer.phone,
            "email": customer.email or "",
            "name": "Ann B.",
            "created_at_0": created.strftime("%Y-%m-%d"),
            "created_at_1": created.strftime("%H:%M:%S.%f"),
            # is_active left out: unticked
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["errors"]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.acting_user, entry.target) == (
        "customer.changed",
        admin_user,
        customer,
    )
    assert entry.changes == {"name": ["Ann", "Ann B."], "is_active": [True, False]}


def test_a_staff_token_made_and_revoked_in_the_admin_is_recorded(
    admin_client, admin_user, staff_user
):
    ends = timezone.now() + timedelta(days=3)
    admin_client.post(
        reverse("admin:customers_apitoken_add"),
        {
            "user": staff_user.pk,
            "name": "till 4",
            "expires_at_0": ends.strftime("%Y-%m-%d"),
            "expires_at_1": ends.strftime("%H:%M:%S"),
        },
    )
    token = ApiToken.objects.get(user=staff_user)
    admin_client.post(
        reverse("admin:customers_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    entries = AuditEntry.objects.order_by("id")
    assert [(e.action, e.acting_user, e.target) for e in entries] == [
        ("api_token.created", admin_user, token),
        ("api_token.revoked", admin_user, token),
    ]
    assert entries[0].changes["user"] == [None, staff_user.pk]
    assert entries[0].changes["name"] == [None, "till 4"]
    assert "digest" not in entries[0].changes  # the secret's hash stays out


def test_revoking_revoked_tokens_records_nothing(admin_client, staff_user):
    token = token_create(user=staff_user)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())

    admin_client.post(
        reverse("admin:customers_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    assert not AuditEntry.objects.exists()
