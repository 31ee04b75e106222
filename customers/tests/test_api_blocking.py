"""The staff API's abuse controls: block and unblock a customer
(POST /api/v1/customers/{id}/block, /unblock) and read this hour's sign-in
texts against the SMS budget (GET /api/v1/sms-budget)."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.models import AuditEntry, IdempotencyKey
from couponsite.roles import CAMPAIGN_MANAGER, SUPPORT
from couponsite.tests.roles_support import staff_in
from customers.models import Customer
from customers.services import (
    customer_block,
    customer_erase,
    staff_user_get_or_create,
    token_create,
)
from customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = dt.datetime(2026, 4, 24, 15, 30, 0, 400_000, tzinfo=dt.UTC)
DRAWS = "/api/v1/campaigns/lucky/draws"
BUDGET = "/api/v1/sms-budget"
OTP = "/api/v1/auth/otp"


def _block(customer_id) -> str:
    return f"/api/v1/customers/{customer_id}/block"


def _unblock(customer_id) -> str:
    return f"/api/v1/customers/{customer_id}/unblock"


def _client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user).key}")
    client.user = user
    return client


@pytest.fixture
def moderator() -> APIClient:
    """A staff token whose user may block customers (as the admin asks)."""
    user = staff_user_get_or_create(username="moderator")
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="customers", codename="block_customer"
        )
    )
    return _client_of(user)


@pytest.fixture
def _draws_unthrottled(settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "draw_customer": "off",
        "draw_ip": "off",
    }


def _draw_campaign():
    campaign = CampaignFactory(
        slug="lucky",
        timezone="Asia/Taipei",
        starts_at=NOW - dt.timedelta(days=1),
        ends_at=NOW + dt.timedelta(hours=1),
    )
    CouponTypeFactory(campaign=campaign, probability=1, valid_days=3650)
    return campaign


# Transactional: a block marks the customer's cached tokens stale on commit.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_draws_unthrottled")
def test_staff_block_a_customer_who_then_cannot_draw_until_unblocked(
    moderator, customer_client
):
    customer = customer_client.customer
    with time_machine.travel(NOW, tick=False):
        _draw_campaign()

        # when staff block the customer through the API
        blocked = moderator.post(
            _block(customer.pk), {"reason": "SMS pumping, ticket 77"}, format="json"
        )

        # then the answer is the block state, and the customer may not draw
        assert blocked.status_code == 200, blocked.json()
        assert blocked.json() == {
            "id": customer.pk,
            "blocked_at": "2026-04-24T15:30:00.400000Z",
            "blocked_reason": "SMS pumping, ticket 77",
            "blocked_by": "moderator",
        }
        refused = customer_client.post(DRAWS)
        assert (refused.status_code, refused.json()["code"]) == (
            403,
            "CUSTOMER_BLOCKED",
        )
        entry = AuditEntry.objects.get(action="customer.blocked")
        assert (entry.acting_user, entry.reason, entry.target) == (
            moderator.user,
            "SMS pumping, ticket 77",
            customer,
        )

        # when they unblock, the customer draws again
        unblocked = moderator.post(
            _unblock(customer.pk), {"reason": "cleared by support"}, format="json"
        )
        assert unblocked.status_code == 200
        assert unblocked.json() == {
            "id": customer.pk,
            "blocked_at": None,
            "blocked_reason": None,
            "blocked_by": None,
        }
        entry = AuditEntry.objects.get(action="customer.unblocked")
        assert (entry.acting_user, entry.reason) == (
            moderator.user,
            "cleared by support",
        )
        assert customer_client.post(DRAWS).status_code == 201


def test_twice_is_status_unchanged_and_records_nothing(moderator, customer):
    first = moderator.post(_block(customer.pk), {"reason": "one"}, format="json")
    again = moderator.post(_block(customer.pk), {"reason": "two"}, format="json")

    assert first.status_code == 200
    assert (again.status_code, again.json()["code"]) == (409, "STATUS_UNCHANGED")
    customer.refresh_from_db()
    assert customer.blocked_reason == "one"
    assert AuditEntry.objects.filter(action="customer.blocked").count() == 1

    moderator.post(_unblock(customer.pk), {"reason": "ok"}, format="json")
    not_blocked = moderator.post(_unblock(customer.pk), {"reason": "ok"}, format="json")
    assert (not_blocked.status_code, not_blocked.json()["code"]) == (
        409,
        "STATUS_UNCHANGED",
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reason": ""},
        {"reason": "   "},
        {"reason": "x" * 201},
        # 201 characters as sent, 200 once trimmed: the schema's maxLength
        # counts them as sent (the schema fuzzer's case).
        {"reason": "\n" + "*" * 200},
        {"reason": 7},
    ],
)
def test_a_reason_is_required_blank_or_long_is_refused(moderator, customer, body):
    response = moderator.post(_block(customer.pk), body, format="json")

    assert (response.status_code, response.json()["code"]) == (
        400,
        "VALIDATION_ERROR",
    )
    assert "reason" in response.json()["fields"]
    customer.refresh_from_db()
    assert customer.blocked_at is None
    assert not AuditEntry.objects.filter(action="customer.blocked").exists()


@pytest.mark.parametrize("customer_id", [0, 987654321, 2**63, 10**30])
def test_an_unknown_customer_is_not_found(moderator, customer_id):
    for path in (_block(customer_id), _unblock(customer_id)):
        response = moderator.post(path, {"reason": "x"}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")


def test_an_erased_customer_cannot_be_blocked_or_unblocked(moderator, customer):
    customer_block(customer=customer, acting_user=None, reason="before")
    customer_erase(customer=customer, acting_user=moderator.user, reason="asked")

    for path in (_block(customer.pk), _unblock(customer.pk)):
        response = moderator.post(path, {"reason": "x"}, format="json")
        assert (response.status_code, response.json()["code"]) == (
            409,
            "CUSTOMER_ERASED",
        )
    assert not AuditEntry.objects.filter(action="customer.unblocked").exists()


def test_only_staff_who_may_block_customers_may_block(api_client, customer):
    body = {"reason": "x"}
    anonymous = api_client.post(_block(customer.pk), body, format="json")
    customer_token = _client_of_customer(CustomerFactory())
    as_customer = customer_token.post(_block(customer.pk), body, format="json")
    plain_staff = _client_of(staff_user_get_or_create(username="checkout"))
    answers = [
        anonymous,
        as_customer,
        plain_staff.post(_block(customer.pk), body, format="json"),
        _client_of(staff_in(CAMPAIGN_MANAGER)).post(
            _unblock(customer.pk), body, format="json"
        ),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (401, "NOT_AUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (403, "PERMISSION_DENIED"),
        (403, "PERMISSION_DENIED"),
    ]
    customer.refresh_from_db()
    assert customer.blocked_at is None


def test_support_blocks_and_unblocks(customer):
    support = _client_of(staff_in(SUPPORT))
    blocked = support.post(_block(customer.pk), {"reason": "pumping"}, format="json")
    unblocked = support.post(_unblock(customer.pk), {"reason": "ok"}, format="json")

    assert (blocked.status_code, blocked.json()["blocked_reason"]) == (200, "pumping")
    assert (unblocked.status_code, unblocked.json()["blocked_at"]) == (200, None)


def test_a_superuser_token_may_block(admin_user, customer):
    response = _client_of(admin_user).post(
        _block(customer.pk), {"reason": "x"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["blocked_by"] == admin_user.username


def test_a_retry_with_the_same_idempotency_key_replays_the_block(moderator, customer):
    headers = {"HTTP_IDEMPOTENCY_KEY": "block-77"}
    first = moderator.post(
        _block(customer.pk), {"reason": "x"}, format="json", **headers
    )
    retry = moderator.post(
        _block(customer.pk), {"reason": "x"}, format="json", **headers
    )

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert AuditEntry.objects.filter(action="customer.blocked").count() == 1
    assert IdempotencyKey.objects.count() == 1


def _client_of_customer(customer: Customer) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    return client


# 12:59:40 UTC: the hour ends 20 s later.
BUDGET_NOW = dt.datetime(2026, 4, 24, 12, 59, 40, tzinfo=dt.UTC)


def test_the_sms_budget_counts_this_hours_sign_in_texts(settings, staff_client):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "otp_ip": "off", "otp_phone": "off"}
    settings.SMS_HOURLY_BUDGET = 5
    settings.SMS_BUDGET_WARN_PERCENT = 60
    settings.SMS_PREFIX_LIMIT = 0
    with time_machine.travel(BUDGET_NOW, tick=False):
        assert staff_client.get(BUDGET).json() == {
            "hour": "2026-04-24T12:00:00Z",
            "sent": 0,
            "refused": 0,
            "budget": 5,
            "percent": 0,
            "warn_percent": 60,
            "alarm": False,
            "exhausted": False,
            "seconds_to_next_hour": 20,
        }

        sent = [
            APIClient().post(OTP, {"phone": f"+1415{n}550123"}, format="json")
            for n in range(2, 5)
        ]
        assert [answer.status_code for answer in sent] == [202] * 3
        state = staff_client.get(BUDGET).json()
        assert (state["sent"], state["percent"], state["alarm"]) == (3, 60, True)

        more = [
            APIClient().post(OTP, {"phone": f"+1415{n}550123"}, format="json")
            for n in range(5, 9)
        ]
        assert [answer.status_code for answer in more] == [202, 202, 429, 429]
        state = staff_client.get(BUDGET).json()
        assert {k: state[k] for k in ("sent", "refused", "percent", "exhausted")} == {
            "sent": 5,
            "refused": 2,
            "percent": 100,
            "exhausted": True,
        }

    # the next hour counts afresh
    with time_machine.travel(BUDGET_NOW + dt.timedelta(seconds=20), tick=False):
        state = staff_client.get(BUDGET).json()
        assert (state["sent"], state["seconds_to_next_hour"]) == (0, 3600)


def test_without_a_budget_nothing_is_counted(settings, staff_client):
    settings.SMS_HOURLY_BUDGET = 0

    state = staff_client.get(BUDGET).json()

    assert (state["budget"], state["percent"], state["alarm"]) == (None, None, False)


def test_only_staff_read_the_sms_budget(api_client, customer_client):
    assert api_client.get(BUDGET).status_code == 401
    denied = customer_client.get(BUDGET)
    assert (denied.status_code, denied.json()["code"]) == (403, "PERMISSION_DENIED")
