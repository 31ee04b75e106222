"""Voucher routes through HTTP: list, detail, check, redeem — and nobody sees another's."""

import datetime as dt

import pytest
from django.utils import timezone

from couponsite.codes import display_code
from customers.tests.factories import CustomerFactory
from vouchers.models import Voucher, VoucherEvent
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(customer_client):
    return VoucherFactory(owner=customer_client.customer)


@pytest.fixture
def theirs():
    return VoucherFactory(owner=CustomerFactory())


def _post(client, path, **body):
    return client.post(f"/api/v1/vouchers/{path}", body, format="json")


class TestList:
    def test_lists_only_my_valid_vouchers(self, customer_client, mine, theirs):
        VoucherFactory(
            owner=mine.owner, status=Voucher.Status.REDEEMED, used_at=timezone.now()
        )
        VoucherFactory(
            owner=mine.owner, expires_at=timezone.now() - dt.timedelta(seconds=1)
        )

        response = customer_client.get("/api/v1/vouchers")

        assert response.status_code == 200
        assert [v["code"] for v in response.json()["results"]] == [
            display_code(mine.code)
        ]

    def test_query_count_does_not_grow_with_vouchers(
        self, customer_client, django_assert_num_queries
    ):
        for _ in range(15):
            VoucherFactory(owner=customer_client.customer)

        with django_assert_num_queries(3):  # token, count, page
            response = customer_client.get("/api/v1/vouchers")

        assert response.json()["count"] == 15

    def test_staff_needs_an_email(self, staff_client):
        response = staff_client.get("/api/v1/vouchers")

        assert response.status_code == 400
        assert "email" in response.json()["fields"]

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("?email=", "This field may not be blank."),
            ("?email=not-an-email", "Enter a valid email address."),
            ("?email=a@example.com&email=nope", "Enter a valid email address."),
            ("?email=nope&email=", "This field may not be blank."),
        ],
    )
    def test_a_bad_email_is_refused_for_everyone(
        self, customer_client, staff_client, query, message
    ):
        # The last of repeated parameters counts, and a blank one is not "absent".
        answers = [
            c.get(f"/api/v1/vouchers{query}") for c in (customer_client, staff_client)
        ]

        assert [a.status_code for a in answers] == [400, 400]
        assert [a.json() for a in answers] == 2 * [
            {
                "code": "VALIDATION_ERROR",
                "detail": "The request has invalid fields.",
                "fields": {"email": [message]},
            }
        ]

    def test_staff_without_an_email_hear_what_is_missing(self, staff_client):
        response = staff_client.get("/api/v1/vouchers?other=1")

        assert response.json()["fields"] == {
            "email": ["Staff must give the customer's email."]
        }

    def test_a_customer_giving_an_email_still_sees_only_their_own(
        self, customer_client, mine, theirs
    ):
        theirs.owner.email = "other@example.com"
        theirs.owner.save()

        response = customer_client.get("/api/v1/vouchers?email=other@example.com")

        assert [v["code"] for v in response.json()["results"]] == [
            display_code(mine.code)
        ]

    def test_staff_lists_an_emails_vouchers(self, staff_client):
        owner = CustomerFactory(email="someone@example.com")
        voucher = VoucherFactory(owner=owner)
        VoucherFactory()

        response = staff_client.get("/api/v1/vouchers?email=SOMEONE@example.com")

        assert [v["code"] for v in response.json()["results"]] == [
            display_code(voucher.code)
        ]


class TestDetail:
    def test_owner_sees_it(self, customer_client, mine):
        response = customer_client.get(f"/api/v1/vouchers/{mine.code.lower()}")

        assert response.status_code == 200
        assert response.json()["code"] == display_code(mine.code)

    def test_someone_elses_is_exactly_like_an_unknown_code(
        self, customer_client, theirs
    ):
        other = customer_client.get(f"/api/v1/vouchers/{theirs.code}")
        unknown = customer_client.get("/api/v1/vouchers/ZZZZZZZZZZ")

        assert other.status_code == unknown.status_code == 404
        assert other.json() == unknown.json()

    def test_staff_sees_any(self, staff_client, theirs):
        assert staff_client.get(f"/api/v1/vouchers/{theirs.code}").status_code == 200

    @pytest.mark.parametrize("who", ["customer_client", "staff_client"])
    def test_misses_spend_the_failure_budget_of_check_and_redeem(
        self, who, request, settings, mine
    ):
        # given: a budget of three failures an hour, one spent by a check
        settings.RATE_LIMITS = {
            **settings.RATE_LIMITS,
            "redeem_fail_customer": "3/hour",
        }
        client = request.getfixturevalue(who)
        failed_check = _post(client, "check", code="ZZZZZZZZZZ").status_code

        # when: lookups of unknown codes spend the rest
        misses = [
            client.get(f"/api/v1/vouchers/ZZZZZZZZ{n}{n}").status_code for n in range(2)
        ]

        # then: the next lookup, even of a good code, is refused before looking,
        # and so are checks
        refused = client.get(f"/api/v1/vouchers/{mine.code}")
        check_refused = _post(client, "check", code=mine.code).status_code
        assert (failed_check, misses) == (404, [404, 404])
        assert refused.status_code == check_refused == 429
        assert refused.json()["code"] == "RATE_LIMITED"
        assert 3590 <= int(refused["Retry-After"]) <= 3600

    def test_found_vouchers_spend_no_failure_budget(
        self, customer_client, settings, mine
    ):
        settings.RATE_LIMITS = {
            **settings.RATE_LIMITS,
            "redeem_fail_customer": "1/hour",
        }

        statuses = {
            customer_client.get(f"/api/v1/vouchers/{mine.code}").status_code
            for _ in range(5)
        }

        assert statuses == {200}

    def test_lookups_have_a_per_request_limit(self, customer_client, settings, mine):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "lookup_customer": "3/minute"}

        statuses = [
            customer_client.get(f"/api/v1/vouchers/{mine.code}").status_code
            for _ in range(4)
        ]

        assert statuses == [200, 200, 200, 429]


class TestCheck:
    def test_check_consumes_nothing(self, customer_client, mine):
        typed = display_code(mine.code).lower().replace("-", " ")

        response = _post(customer_client, "check", code=typed)

        assert response.status_code == 200
        assert response.json()["valid"] is True
        mine.refresh_from_db()
        assert mine.status == Voucher.Status.ISSUED and mine.used_at is None

    def test_check_someone_elses(self, customer_client, theirs):
        response = _post(customer_client, "check", code=theirs.code)

        assert response.status_code == 404
        assert (
            response.json() == _post(customer_client, "check", code="NOPE000000").json()
        )

    def test_expired(self, customer_client):
        voucher = VoucherFactory(
            owner=customer_client.customer,
            expires_at=timezone.now() - dt.timedelta(minutes=1),
        )

        response = _post(customer_client, "check", code=voucher.code)

        assert response.status_code == 409
        assert response.json()["code"] == "EXPIRED"


class TestRedeem:
    def test_owner_redeems_once(self, customer_client, mine):
        first = _post(customer_client, "redeem", code=mine.code)
        second = _post(customer_client, "redeem", code=mine.code)

        assert first.status_code == 200
        assert first.json()["voucher"]["status"] == "redeemed"
        assert first.json()["voucher"]["used_at"]
        assert second.status_code == 409
        assert second.json()["code"] == "ALREADY_REDEEMED"
        assert VoucherEvent.objects.filter(voucher=mine, kind="redeemed").count() == 1

    def test_someone_elses_is_not_found_and_untouched(self, customer_client, theirs):
        response = _post(customer_client, "redeem", code=theirs.code)

        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == Voucher.Status.ISSUED

    def test_staff_redeems_at_checkout_with_order_ref(self, staff_client, theirs):
        response = _post(staff_client, "redeem", code=theirs.code, order_ref="ORD-1")

        assert response.status_code == 200
        theirs.refresh_from_db()
        assert theirs.redeemed_by == staff_client.user
        assert theirs.order_ref == "ORD-1"

    def test_staff_with_wrong_email_is_not_found(self, staff_client):
        voucher = VoucherFactory(owner=CustomerFactory(email="a@example.com"))

        response = _post(
            staff_client, "redeem", code=voucher.code, email="b@example.com"
        )

        assert response.status_code == 404

    def test_void_voucher(self, customer_client, mine):
        Voucher.objects.filter(pk=mine.pk).update(status=Voucher.Status.VOID)

        assert _post(customer_client, "redeem", code=mine.code).json()["code"] == "VOID"

    def test_bad_input(self, customer_client):
        response = _post(customer_client, "redeem")

        assert response.status_code == 400
        assert "code" in response.json()["fields"]

    def test_anonymous(self, api_client, theirs):
        assert _post(api_client, "redeem", code=theirs.code).status_code == 401
