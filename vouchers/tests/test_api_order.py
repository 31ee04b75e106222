"""Check and redeem with the order (issue 15): the money off, each rule's refusal
with its code, malformed orders as 400, the rules copied at issue, and the calls
without an order answered as before."""

from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.tests.factories import CouponTypeFactory
from customers.tests.factories import CustomerFactory
from vouchers import services
from vouchers.models import Voucher, VoucherEvent
from vouchers.tests.factories import OfferFactory, VoucherFactory
from vouchers.webhook_payloads import voucher_payload

pytestmark = pytest.mark.django_db

OLD_FIELDS = {"valid", "discount", "benefit", "used_at", "voucher"}


def _post(client, path, **body):
    return client.post(f"/api/v1/vouchers/{path}", body, format="json")


def _order(amount="100.00", currency="HKD", **more):
    return {"amount": amount, "currency": currency, **more}


def _percent(owner, **rules):
    return VoucherFactory(
        owner=owner,
        benefit_kind=Voucher.Kind.PERCENT,
        amount=None,
        percent=Decimal(15),
        currency="HKD",
        **rules,
    )


class TestTheMoneyOff:
    def test_check_answers_the_discount_of_a_percentage_with_its_cap(
        self, customer_client
    ):
        voucher = _percent(customer_client.customer, max_discount=Decimal(20))

        small = _post(
            customer_client, "check", code=voucher.code, order=_order("33.33")
        )
        large = _post(customer_client, "check", code=voucher.code, order=_order("500"))

        assert small.status_code == 200
        assert (small.json()["discount_amount"], small.json()["currency"]) == (
            "5.00",  # 15% of 33.33 = 4.9995, rounded half up
            "HKD",
        )
        assert large.json()["discount_amount"] == "20.00"  # capped
        assert large.json()["voucher"]["rules"]["max_discount"] == "20.00"
        voucher.refresh_from_db()
        assert voucher.status == Voucher.Status.ISSUED  # check consumes nothing

    def test_an_amount_off_is_never_more_than_the_order(self, customer_client):
        voucher = VoucherFactory(owner=customer_client.customer)  # 5 USD off

        response = _post(
            customer_client, "check", code=voucher.code, order=_order("3.50", "USD")
        )

        assert response.json()["discount_amount"] == "3.50"

    def test_a_free_item_names_the_item_and_takes_no_money(self, customer_client):
        voucher = VoucherFactory(
            owner=customer_client.customer,
            benefit_kind=Voucher.Kind.FREE_ITEM,
            amount=None,
            currency="",
            free_item="A free coffee",
        )

        response = _post(customer_client, "redeem", code=voucher.code, order=_order())

        assert response.status_code == 200
        body = response.json()
        assert (body["discount_amount"], body["free_item"]) == ("0.00", "A free coffee")

    def test_redeem_records_the_order_and_the_money_off(self, customer_client):
        voucher = _percent(customer_client.customer)

        response = _post(
            customer_client,
            "redeem",
            code=voucher.code,
            order_ref="A-1",
            order=_order("80.00", categories=["Shoes"]),
        )

        assert response.status_code == 200
        assert response.json()["discount_amount"] == "12.00"
        voucher.refresh_from_db()
        assert (
            voucher.order_amount,
            voucher.order_currency,
            voucher.discount_granted,
        ) == (Decimal("80.00"), "HKD", Decimal("12.00"))
        event = VoucherEvent.objects.get(voucher=voucher)
        assert event.data == {
            "order_ref": "A-1",
            "order": {"amount": "80.00", "currency": "HKD", "categories": ["shoes"]},
            "discount": "12.00",
        }
        # the redemption's webhook tells it too
        assert voucher_payload(voucher)["voucher"]["order"] == {
            "amount": "80.00",
            "currency": "HKD",
            "discount_amount": "12.00",
        }

    def test_rolling_back_clears_the_order(self, customer_client, staff_user):
        voucher = _percent(customer_client.customer)
        _post(customer_client, "redeem", code=voucher.code, order=_order())

        services.voucher_rollback_redemption(
            voucher=voucher, acting_user=staff_user, reason="order cancelled"
        )

        voucher.refresh_from_db()
        assert (voucher.order_amount, voucher.order_currency) == (None, "")
        assert voucher.discount_granted is None


class TestRefusals:
    @pytest.mark.parametrize(
        ("rules", "order", "status", "code"),
        [
            ({}, _order(currency="USD"), 422, "CURRENCY_MISMATCH"),
            (
                {"min_order_amount": Decimal(50)},
                _order("49.99"),
                422,
                "ORDER_BELOW_MINIMUM",
            ),
            (
                {"categories": "shoes,bags"},
                _order(categories=["hats"]),
                422,
                "CATEGORY_NOT_ELIGIBLE",
            ),
            ({"categories": "shoes"}, _order(), 422, "CATEGORY_NOT_ELIGIBLE"),
        ],
    )
    @pytest.mark.parametrize("path", ["check", "redeem"])
    def test_a_rule_the_order_fails_is_named(
        self, customer_client, rules, order, status, code, path
    ):
        voucher = _percent(customer_client.customer, **rules)

        response = _post(customer_client, path, code=voucher.code, order=order)

        assert response.status_code == status
        assert response.json()["code"] == code and response.json()["detail"]
        voucher.refresh_from_db()
        assert voucher.status == Voucher.Status.ISSUED
        assert not VoucherEvent.objects.exists()

    def test_the_first_failed_rule_is_the_currency(self, customer_client):
        voucher = _percent(customer_client.customer, min_order_amount=Decimal(50))

        response = _post(
            customer_client, "check", code=voucher.code, order=_order("1", "USD")
        )

        assert response.json()["code"] == "CURRENCY_MISMATCH"

    def test_an_order_meeting_the_rules_is_accepted(self, customer_client):
        voucher = _percent(
            customer_client.customer, min_order_amount=Decimal(50), categories="shoes"
        )

        response = _post(
            customer_client,
            "redeem",
            code=voucher.code,
            order=_order("50", categories=[" SHOES ", "hats"]),
        )

        assert response.status_code == 200
        assert response.json()["discount_amount"] == "7.50"

    def test_without_an_order_check_lists_the_rules_and_redeem_asks_for_it(
        self, customer_client
    ):
        voucher = _percent(
            customer_client.customer, min_order_amount=Decimal(50), categories="shoes"
        )

        checked = _post(customer_client, "check", code=voucher.code)
        redeemed = _post(customer_client, "redeem", code=voucher.code)

        assert checked.status_code == 200
        assert checked.json()["voucher"]["rules"] == {
            "min_order_amount": "50.00",
            "max_discount": None,
            "categories": ["shoes"],
            "per_customer_limit": None,
            "order_required": True,
        }
        assert checked.json()["discount_amount"] is None
        assert (redeemed.status_code, redeemed.json()["code"]) == (
            400,
            "ORDER_REQUIRED",
        )
        voucher.refresh_from_db()
        assert voucher.status == Voucher.Status.ISSUED

    def test_a_used_voucher_says_so_before_any_rule(self, customer_client):
        voucher = _percent(
            customer_client.customer,
            status=Voucher.Status.REDEEMED,
            used_at=timezone.now(),
            min_order_amount=Decimal(50),
        )

        for path in ("check", "redeem"):
            response = _post(
                customer_client, path, code=voucher.code, order=_order("1", "USD")
            )
            assert response.json()["code"] == "ALREADY_REDEEMED"

    def test_the_per_customer_limit_counts_the_campaigns_redemptions(
        self, customer_client
    ):
        customer = customer_client.customer
        coupon_type = CouponTypeFactory()
        first, second, third = (
            VoucherFactory(
                owner=customer, coupon_type=coupon_type, per_customer_limit=2
            )
            for _ in range(3)
        )
        elsewhere = VoucherFactory(owner=customer, per_customer_limit=1)

        answers = [
            _post(customer_client, "redeem", code=v.code).status_code
            for v in (first, second)
        ]
        checked = _post(customer_client, "check", code=third.code)
        refused = _post(customer_client, "redeem", code=third.code)

        assert answers == [200, 200]
        assert (checked.status_code, checked.json()["code"]) == (
            409,
            "REDEMPTION_LIMIT_REACHED",
        )
        assert (refused.status_code, refused.json()["code"]) == (
            409,
            "REDEMPTION_LIMIT_REACHED",
        )
        third.refresh_from_db()
        assert third.status == Voucher.Status.ISSUED
        # another campaign counts on its own
        assert _post(customer_client, "redeem", code=elsewhere.code).status_code == 200

    def test_a_pool_voucher_nobody_owns_counts_by_its_email(self, staff_client):
        offer = OfferFactory(per_customer_limit=1)
        made = [
            VoucherFactory(
                owner=None,
                email="ana@example.com",
                offer=offer,
                coupon_type=None,
                campaign=None,
                per_customer_limit=1,
            )
            for _ in range(2)
        ]
        other = VoucherFactory(
            owner=None,
            email="bo@example.com",
            offer=offer,
            coupon_type=None,
            campaign=None,
            per_customer_limit=1,
        )

        codes = [
            _post(staff_client, "redeem", code=v.code, email=v.email).status_code
            for v in [*made, other]
        ]

        assert codes == [200, 409, 200]


class TestMalformedOrders:
    @pytest.mark.parametrize(
        "order",
        [
            _order("-1"),
            _order("NaN"),
            _order("Infinity"),
            _order("1e400"),
            _order("1" * 13),
            _order("12.345"),  # HKD has 2 places
            _order("12.5", "JPY"),  # yen have none
            _order("1.2345", "KWD"),
            _order(True),
            _order(12.5),  # a number: the schema says a string
            _order(12),
            _order(None),
            _order([]),
            _order(currency="hkd"),
            _order(currency="HKDX"),
            _order(currency=""),
            _order(currency=840),
            _order(categories="shoes"),
            _order(categories=[1]),
            _order(categories=[""]),
            _order(categories=["x" * 61]),
            _order(categories=["a"] * 51),
            {"currency": "HKD"},
            {"amount": "1"},
            "100 HKD",
            [],
        ],
    )
    @pytest.mark.parametrize("path", ["check", "redeem"])
    def test_a_malformed_order_is_a_validation_error(
        self, customer_client, order, path
    ):
        voucher = _percent(customer_client.customer)

        response = _post(customer_client, path, code=voucher.code, order=order)

        assert response.status_code == 400, response.content
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert "order" in str(response.json()["fields"])

    def test_a_null_order_is_no_order(self, customer_client):
        voucher = _percent(customer_client.customer)

        response = _post(customer_client, "redeem", code=voucher.code, order=None)

        assert response.status_code == 200
        assert response.json()["discount_amount"] is None

    @pytest.mark.parametrize(
        ("amount", "currency"),
        [("12", "JPY"), ("12.000", "JPY"), ("1.234", "KWD"), ("0", "HKD")],
    )
    def test_amounts_within_the_currencys_places_are_taken(
        self, customer_client, amount, currency
    ):
        voucher = VoucherFactory(
            owner=customer_client.customer,
            benefit_kind=Voucher.Kind.PERCENT,
            amount=None,
            currency="",
            percent=Decimal(10),
        )

        response = _post(
            customer_client, "check", code=voucher.code, order=_order(amount, currency)
        )

        assert response.status_code == 200, response.content


class TestWithoutAnOrder:
    def test_old_calls_answer_as_before_with_the_new_fields_empty(
        self, customer_client
    ):
        voucher = VoucherFactory(owner=customer_client.customer)

        checked = _post(customer_client, "check", code=voucher.code)
        redeemed = _post(customer_client, "redeem", code=voucher.code, order_ref="R")

        for response in (checked, redeemed):
            assert response.status_code == 200
            body = response.json()
            assert body.keys() >= OLD_FIELDS
            assert (body["discount_amount"], body["currency"], body["free_item"]) == (
                None,
                None,
                None,
            )
            assert body["voucher"]["rules"]["order_required"] is False
        voucher.refresh_from_db()
        assert voucher.status == Voucher.Status.REDEEMED
        assert voucher.order_amount is None and voucher.order_currency == ""
        assert VoucherEvent.objects.get(voucher=voucher).data == {"order_ref": "R"}

    def test_the_customers_list_shows_each_vouchers_rules(self, customer_client):
        _percent(customer_client.customer, min_order_amount=Decimal(30))

        response = customer_client.get("/api/v1/vouchers")

        assert response.json()["results"][0]["rules"]["min_order_amount"] == "30.00"
        assert response.json()["results"][0]["rules"]["order_required"] is True


class TestRulesCopiedAtIssue:
    def test_editing_the_coupon_type_changes_no_voucher_given(self, customer_client):
        coupon_type = CouponTypeFactory(
            benefit_kind="percent",
            amount=None,
            percent=Decimal(10),
            currency="HKD",
            min_order_amount=Decimal(50),
            max_discount=Decimal(8),
            categories="shoes",
            per_customer_limit=3,
        )
        voucher = services.voucher_issue(
            coupon_type=coupon_type, owner=customer_client.customer
        )
        order = _order("100", categories=["shoes"])
        before = _post(customer_client, "check", code=voucher.code, order=order).json()

        coupon_type.min_order_amount = Decimal(500)
        coupon_type.max_discount = Decimal(1)
        coupon_type.categories = "hats"
        coupon_type.per_customer_limit = 1
        coupon_type.currency = "USD"
        coupon_type.save()
        after = _post(customer_client, "check", code=voucher.code, order=order).json()

        assert before["discount_amount"] == after["discount_amount"] == "8.00"
        assert before["voucher"]["rules"] == after["voucher"]["rules"]
        assert after["voucher"]["rules"]["categories"] == ["shoes"]

    def test_editing_the_offer_changes_no_voucher_given(self, staff_client):
        offer = OfferFactory(
            name="Spring", currency="HKD", min_order_amount=Decimal(20)
        )
        services.vouchers_generate(
            emails=["ana@example.com"],
            offer_name="Spring",
            discount=Decimal(10),
            expires_at=offer.created_at.replace(year=offer.created_at.year + 1),
            acting_user=staff_client.user,
        )
        voucher = Voucher.objects.get(offer=offer)
        assert (voucher.currency, voucher.min_order_amount) == ("HKD", Decimal(20))

        offer.min_order_amount = Decimal(500)
        offer.currency = "USD"
        offer.save()
        response = _post(
            staff_client,
            "check",
            code=voucher.code,
            email="ana@example.com",
            order=_order("20"),
        )

        assert response.status_code == 200
        assert response.json()["discount_amount"] == "2.00"

    def test_a_released_claim_coupon_carries_its_types_rules(self, staff_user):
        from draws.claim.releases import batch_release

        coupon_type = CouponTypeFactory(
            campaign__kind="claim", categories="shoes", per_customer_limit=1
        )

        batch_release(
            coupon_type=coupon_type,
            count=2,
            acting_user=staff_user,
        )

        assert set(
            Voucher.objects.filter(coupon_type=coupon_type).values_list(
                "categories", "per_customer_limit"
            )
        ) == {("shoes", 1)}


def test_a_customers_vouchers_are_not_anothers_limit(customer_client):
    coupon_type = CouponTypeFactory()
    VoucherFactory(
        owner=CustomerFactory(),
        coupon_type=coupon_type,
        status=Voucher.Status.REDEEMED,
        used_at=coupon_type.campaign.starts_at,
    )
    mine = VoucherFactory(
        owner=customer_client.customer, coupon_type=coupon_type, per_customer_limit=1
    )

    assert _post(customer_client, "redeem", code=mine.code).status_code == 200
