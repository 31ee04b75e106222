"""Redemption rules set through the staff API: a campaign's coupon types
(POST /api/v1/campaigns) and the voucher pool's offers (POST /api/v1/vouchers),
copied onto each coupon issued and applied when it is checked."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import CouponType
from vouchers import services
from vouchers.models import Offer, Voucher

pytestmark = pytest.mark.django_db

RULES = {
    "min_order_amount": "50",
    "max_discount": "8",
    "categories": [" Shoes", "bags", "shoes"],
    "per_customer_limit": 2,
}
RULES_ANSWERED = {
    "min_order_amount": "50.00",
    "max_discount": "8.00",
    "categories": ["shoes", "bags"],
    "per_customer_limit": 2,
    "order_required": True,
}
NO_RULES = {
    "min_order_amount": None,
    "max_discount": None,
    "categories": [],
    "per_customer_limit": None,
    "order_required": False,
}


def _campaign(**coupon_type) -> dict:
    now = timezone.now().replace(microsecond=0)
    return {
        "name": "Shoe Week",
        "kind": "draw",
        "timezone": "Asia/Hong_Kong",
        "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(days=7)).isoformat(),
        "coupon_types": [
            {
                "name": "10% off shoes",
                "benefit_kind": "percent",
                "percent": "10",
                "probability": "0.5",
                **coupon_type,
            }
        ],
    }


def _generate(client, email="ana@example.com", **body):
    payload = {
        "email": email,
        "offer_name": "Spring",
        "discount": "10",
        "expires_at": (timezone.now() + dt.timedelta(days=30)).isoformat(),
        "send_emails": False,
        **body,
    }
    return client.post("/api/v1/vouchers", payload, format="json")


def _check(client, voucher: Voucher, amount: str, **more):
    order = {"amount": amount, "currency": "HKD", "categories": ["shoes"]}
    return client.post(
        "/api/v1/vouchers/check",
        {"code": voucher.code, "order": order, **more},
        format="json",
    )


class TestCampaignCouponTypes:
    def test_rules_given_at_create_are_shown_issued_and_applied(
        self, staff_client, customer_client, api_client
    ):
        # given a campaign created through the API with rules on its coupon type
        created = staff_client.post(
            "/api/v1/campaigns",
            _campaign(currency="hkd", rules=RULES),
            format="json",
        )
        assert created.status_code == 201
        slug = created.json()["slug"]

        # when its detail is read, and a coupon of the type is issued and checked
        detail = api_client.get(f"/api/v1/campaigns/{slug}").json()
        voucher = services.voucher_issue(
            coupon_type=CouponType.objects.get(), owner=customer_client.customer
        )
        below = _check(customer_client, voucher, "49.99")
        above = _check(customer_client, voucher, "100")

        # then the detail shows them, the coupon carries them, and they apply
        [coupon_type] = detail["coupon_types"]
        assert coupon_type["rules"] == RULES_ANSWERED
        assert coupon_type["benefit"]["currency"] == "HKD"
        assert created.json()["coupon_types"][0]["rules"] == RULES_ANSWERED
        assert (voucher.categories, voucher.min_order_amount) == (
            "shoes,bags",
            Decimal(50),
        )
        assert below.status_code == 422
        assert below.json()["code"] == "ORDER_BELOW_MINIMUM"
        assert above.status_code == 200
        assert above.json()["discount_amount"] == "8.00"  # 10% of 100, capped at 8
        assert above.json()["voucher"]["rules"] == RULES_ANSWERED

    def test_a_coupon_type_without_rules_has_none(self, staff_client):
        response = staff_client.post("/api/v1/campaigns", _campaign(), format="json")

        assert response.status_code == 201
        assert response.json()["coupon_types"][0]["rules"] == NO_RULES

    @pytest.mark.parametrize(
        ("coupon_type", "field"),
        [
            ({"rules": {"min_order_amount": "50"}}, "coupon_types.0.currency"),
            ({"rules": {"max_discount": "5"}}, "coupon_types.0.currency"),
            (
                {"currency": "HKD", "rules": {"min_order_amount": "-5"}},
                "coupon_types.0.rules.min_order_amount",
            ),
            (
                {"rules": {"per_customer_limit": -1}},
                "coupon_types.0.rules.per_customer_limit",
            ),
            ({"rules": {"categories": ["x" * 61]}}, "coupon_types.0.rules.categories"),
            ({"rules": {"categories": "shoes"}}, "coupon_types.0.rules.categories"),
            ({"rules": {"categories": [3]}}, "coupon_types.0.rules.categories.0"),
        ],
    )
    def test_invalid_rules_are_refused(self, staff_client, coupon_type, field):
        response = staff_client.post(
            "/api/v1/campaigns", _campaign(**coupon_type), format="json"
        )

        assert response.status_code == 400
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert list(response.json()["fields"]) == [field]
        assert not CouponType.objects.exists()


class TestGenerate:
    def test_rules_given_are_kept_by_the_offer_and_its_vouchers(self, staff_client):
        response = _generate(staff_client, currency="HKD", rules=RULES)

        assert response.status_code == 201
        assert response.json()["offer"]["rules"] == RULES_ANSWERED
        assert response.json()["offer"]["currency"] == "HKD"
        offer = Offer.objects.get()
        voucher = Voucher.objects.get()
        for row in (offer, voucher):
            assert (row.currency, row.min_order_amount, row.max_discount) == (
                "HKD",
                Decimal(50),
                Decimal(8),
            )
            assert (row.categories, row.per_customer_limit) == ("shoes,bags", 2)
        below = _check(staff_client, voucher, "20", email="ana@example.com")
        assert below.status_code == 422
        assert below.json()["code"] == "ORDER_BELOW_MINIMUM"

    def test_generating_again_replaces_the_offers_rules_not_the_vouchers(
        self, staff_client
    ):
        _generate(staff_client, "a@x.com", currency="HKD", rules=RULES)

        # rules given again replace all of them, as the discount is replaced
        _generate(staff_client, "b@x.com", rules={"categories": ["hats"]})
        # no rules given: the offer keeps its own
        _generate(staff_client, "c@x.com")

        offer = Offer.objects.get()
        assert (offer.categories, offer.min_order_amount, offer.currency) == (
            "hats",
            None,
            "HKD",
        )
        kept = {
            v.email: (v.categories, v.min_order_amount) for v in Voucher.objects.all()
        }
        assert kept == {
            "a@x.com": ("shoes,bags", Decimal(50)),
            "b@x.com": ("hats", None),
            "c@x.com": ("hats", None),
        }

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"rules": {"min_order_amount": "50"}}, "currency"),
            ({"currency": "HKD", "rules": {"max_discount": "0"}}, "rules.max_discount"),
            ({"rules": {"per_customer_limit": 0}}, "rules.per_customer_limit"),
            ({"rules": {"categories": ["a,b"]}}, "rules.categories.0"),
            ({"currency": "hkd"}, "currency"),
        ],
    )
    def test_invalid_rules_are_refused(self, staff_client, body, field):
        response = _generate(staff_client, **body)

        assert response.status_code == 400
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert list(response.json()["fields"]) == [field]
        assert not Offer.objects.exists()
