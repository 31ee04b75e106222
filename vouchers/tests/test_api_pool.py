"""The voucher pool of seed 001: generate for emails and an offer, check, redeem, list."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.services import token_create
from customers.tests.email_support import (
    ask_email,
    last_emailed_code,
    verify,
    verify_email,
)
from customers.tests.factories import CustomerFactory
from vouchers.models import Offer, Voucher, VoucherEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/vouchers"


def _expiry(days=30) -> str:
    return (timezone.now() + dt.timedelta(days=days)).isoformat()


def _generate(client, **body):
    payload = {"offer_name": "KOI", "discount": "22.1", "expires_at": _expiry()}
    payload.update(body)
    return client.post(URL, payload, format="json")


class TestGenerate:
    def test_for_one_email_of_a_known_customer(self, staff_client, staff_user):
        customer = CustomerFactory(email="customer1@gmail.com")

        response = _generate(staff_client, email="Customer1@Gmail.com")

        assert response.status_code == 201
        body = response.json()
        assert body["offer"] == {
            "name": "KOI",
            "discount": "22.10",
            "currency": None,
            "rules": {
                "min_order_amount": None,
                "max_discount": None,
                "categories": [],
                "per_customer_limit": None,
                "order_required": False,
            },
        }
        [issued] = body["vouchers"]
        assert issued["email"] == "customer1@gmail.com"
        voucher = Voucher.objects.get()
        assert voucher.owner == customer and voucher.percent == Decimal("22.10")
        assert issued["code"].replace("-", "") == voucher.code
        event = VoucherEvent.objects.get(kind="issued")
        assert event.actor == staff_user and event.data["count"] == 1

    def test_for_many_emails_duplicates_once(self, staff_client):
        response = _generate(staff_client, emails=["a@x.com", "b@x.com", "A@x.com"])

        assert response.json()["count"] == 2
        assert Voucher.objects.count() == 2

    def test_offer_change_keeps_issued_discounts(self, staff_client):
        _generate(staff_client, email="a@x.com", discount="22.1")

        _generate(staff_client, email="b@x.com", discount="50")

        assert Offer.objects.get().discount == Decimal(50)
        discounts = dict(Voucher.objects.values_list("email", "percent"))
        assert discounts == {"a@x.com": Decimal("22.10"), "b@x.com": Decimal("50.00")}

    def test_offer_names_ignore_case(self, staff_client):
        _generate(staff_client, email="a@x.com", offer_name="KOI")
        _generate(staff_client, email="b@x.com", offer_name="koi")

        assert Offer.objects.count() == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"email": "a@x.com", "emails": ["b@x.com"]}, "emails"),
            ({}, "emails"),
            ({"email": "not-an-email"}, "email"),
            ({"email": "a@x.com", "discount": "0"}, "discount"),
            ({"email": "a@x.com", "discount": "100.5"}, "discount"),
            ({"email": "a@x.com", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
            ({"email": "a@x.com", "offer_name": ""}, "offer_name"),
            ({"emails": [f"u{n}@x.com" for n in range(10_001)]}, "emails"),
        ],
    )
    def test_bad_input(self, staff_client, body, field):
        response = _generate(staff_client, **body)

        assert response.status_code == 400
        assert field in response.json()["fields"]
        assert not Voucher.objects.exists() and not Offer.objects.exists()

    def test_customers_cannot_generate(self, customer_client):
        assert _generate(customer_client, email="a@x.com").status_code == 403

    def test_idempotent_retry_makes_no_second_voucher(self, staff_client):
        first = staff_client.post(
            URL,
            {
                "email": "a@x.com",
                "offer_name": "KOI",
                "discount": "22.1",
                "expires_at": "2099-01-01T00:00:00Z",
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="gen-1",
        )
        retry = staff_client.post(
            URL,
            {
                "email": "a@x.com",
                "offer_name": "KOI",
                "discount": "22.1",
                "expires_at": "2099-01-01T00:00:00Z",
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="gen-1",
        )

        assert retry.json() == first.json()
        assert Voucher.objects.count() == 1


class TestValidateWithEmail:
    """Seed 001's validate: code and email; the discount comes back and used_at is set."""

    @pytest.fixture
    def code(self, staff_client):
        return _generate(staff_client, email="customer1@gmail.com").json()["vouchers"][
            0
        ]["code"]

    def test_redeem_returns_discount_and_sets_used_at(self, staff_client, code):
        response = staff_client.post(
            f"{URL}/redeem",
            {"code": code, "email": "customer1@gmail.com"},
            format="json",
        )

        assert response.status_code == 200
        body = response.json()
        assert body["discount"] == "22.10"
        assert body["used_at"] is not None
        assert Voucher.objects.get().used_at is not None

    def test_wrong_email_and_unknown_code_answer_identically(self, staff_client, code):
        wrong_email = staff_client.post(
            f"{URL}/check", {"code": code, "email": "someone@else.com"}, format="json"
        )
        unknown = staff_client.post(
            f"{URL}/check",
            {"code": "ZZZZ-ZZZZ-ZZ", "email": "customer1@gmail.com"},
            format="json",
        )

        assert wrong_email.status_code == unknown.status_code == 404
        assert wrong_email.json() == unknown.json()

    def test_expired(self, staff_client):
        voucher_code = _generate(staff_client, email="a@x.com").json()["vouchers"][0][
            "code"
        ]
        Voucher.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

        response = staff_client.post(
            f"{URL}/redeem", {"code": voucher_code, "email": "a@x.com"}, format="json"
        )

        assert response.status_code == 409
        assert response.json()["code"] == "EXPIRED"

    def test_failed_attempts_are_limited_per_hour(self, staff_client, code, settings):
        settings.RATE_LIMITS = {
            **settings.RATE_LIMITS,
            "redeem_fail_customer": "3/hour",
        }
        failures = [
            staff_client.post(
                f"{URL}/check", {"code": f"ZZZZZZZZZ{n}"}, format="json"
            ).status_code
            for n in range(3)
        ]

        blocked = staff_client.post(f"{URL}/check", {"code": code}, format="json")

        assert failures == [404, 404, 404]
        assert blocked.status_code == 429
        assert blocked.json()["code"] == "RATE_LIMITED"

    def test_successes_do_not_count_as_failures(self, staff_client, code, settings):
        settings.RATE_LIMITS = {
            **settings.RATE_LIMITS,
            "redeem_fail_customer": "1/hour",
        }

        statuses = [
            staff_client.post(f"{URL}/check", {"code": code}, format="json").status_code
            for _ in range(3)
        ]

        assert statuses == [200, 200, 200]


class TestCustomerSide:
    def test_verifying_email_claims_vouchers_issued_to_it(
        self, staff_client, customer_client
    ):
        _generate(staff_client, email="late@x.com")

        asked = ask_email(customer_client, "Late@x.com")
        before = customer_client.get(URL).json()["results"]
        response = verify(customer_client, last_emailed_code("late@x.com"))
        listed = customer_client.get(URL).json()["results"]

        assert asked.status_code == 202 and before == []
        assert response.status_code == 200
        assert response.json()["email"] == "late@x.com"
        assert [v["offer_name"] for v in listed] == ["KOI"]
        assert listed[0]["benefit"]["percent"] == "22.10"

    def test_typing_someones_email_takes_none_of_their_vouchers(
        self, staff_client, customer_client
    ):
        victim = CustomerFactory()
        victim_client = APIClient()
        victim_client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {token_create(customer=victim).key}"
        )
        verify_email(victim_client, "victim@x.com")
        code = _generate(staff_client, email="victim@x.com").json()["vouchers"][0][
            "code"
        ]

        asked = ask_email(customer_client, "victim@x.com")
        listed = customer_client.get(URL).json()["results"]
        redeemed = customer_client.post(f"{URL}/redeem", {"code": code}, format="json")

        assert asked.status_code == 202
        assert listed == []
        assert redeemed.status_code == 404
        assert Voucher.objects.get().owner == victim

    def test_vouchers_for_an_unverified_email_stay_unowned(
        self, staff_client, customer_client
    ):
        ask_email(customer_client, "pending@x.com")

        _generate(staff_client, email="pending@x.com")

        assert Voucher.objects.get().owner is None
        assert customer_client.get(URL).json()["results"] == []

    def test_owner_redeems_with_code_alone(self, staff_client, customer_client):
        verify_email(customer_client, "me@x.com")
        code = _generate(staff_client, email="me@x.com").json()["vouchers"][0]["code"]

        response = customer_client.post(f"{URL}/redeem", {"code": code}, format="json")

        assert response.status_code == 200
        assert response.json()["discount"] == "22.10"


@pytest.mark.postgres
def test_ten_thousand_in_one_request(staff_client):
    emails = [f"bulk{n}@example.com" for n in range(10_000)]

    response = _generate(staff_client, emails=emails)

    assert response.status_code == 201
    assert response.json()["count"] == 10_000
    assert (
        Voucher.objects.filter(offer__name="KOI").values("code").distinct().count()
        == 10_000
    )
