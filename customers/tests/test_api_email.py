"""An email becomes a customer's only once they prove they read it.

PATCH /me {"email"} mails a code; POST /me/email/verify {"code"} makes the email
theirs. The answer to PATCH never tells whether someone else has the email.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from customers import services
from customers.models import Customer, EmailVerification
from customers.services import token_create
from customers.tests.email_support import (
    ask_email,
    last_emailed_code,
    patch_me,
    verify,
    verify_email,
)
from customers.tests.factories import CustomerFactory
from messaging.tests.support import mail_sent
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db


def _client_for(customer) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    return client


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class TestAskingForAnEmail:
    def test_mails_a_code_and_changes_nothing_yet(self, customer_client, customer):
        response = ask_email(customer_client, " New@Example.com ")

        assert response.status_code == 202
        body = response.json()
        assert body["email"] is None
        assert body["pending_email"] == "new@example.com"
        assert body["pending_email_expires_at"] is not None
        [message] = mail_sent()
        assert message.to == ["new@example.com"]
        assert last_emailed_code() in message.body
        customer.refresh_from_db()
        assert customer.email is None

    def test_the_answer_does_not_tell_whether_the_email_is_taken(self):
        CustomerFactory(email="taken@example.com")
        first, second = _client_for(CustomerFactory()), _client_for(CustomerFactory())

        taken = ask_email(first, "taken@example.com")
        free = ask_email(second, "free@example.com")

        assert taken.status_code == free.status_code == 202
        taken_body, free_body = taken.json(), free.json()
        assert taken_body.keys() == free_body.keys()
        assert taken_body["pending_email"] == "taken@example.com"
        assert taken_body["email"] is free_body["email"] is None
        assert [m.to for m in mail_sent()] == [
            ["taken@example.com"],
            ["free@example.com"],
        ]

    def test_code_is_stored_hashed(self, customer_client, customer):
        ask_email(customer_client, "a@example.com")

        stored = EmailVerification.objects.get(customer=customer)
        assert last_emailed_code() not in stored.code_hash
        assert stored.email == "a@example.com"

    def test_me_shows_the_pending_email(self, customer_client):
        ask_email(customer_client, "a@example.com")

        me = customer_client.get("/api/v1/me").json()

        assert me["email"] is None and me["pending_email"] == "a@example.com"

    def test_resend_waits_a_minute_and_kills_the_old_code(self, customer_client):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            ask_email(customer_client, "a@example.com")
            first_code = last_emailed_code()
        with time_machine.travel(start + timedelta(seconds=20), tick=False):
            refused = ask_email(customer_client, "b@example.com")
        with time_machine.travel(start + timedelta(seconds=60), tick=False):
            accepted = ask_email(customer_client, "b@example.com")
            new_code = last_emailed_code()
            if new_code != first_code:
                assert verify(customer_client, first_code).status_code == 400
            verified = verify(customer_client, new_code)

        assert refused.status_code == 429
        assert refused.json()["code"] == "EMAIL_RESEND_TOO_SOON"
        assert refused["Retry-After"] == "40"
        assert accepted.status_code == 202
        assert len(mail_sent()) == 2
        assert verified.json()["email"] == "b@example.com"

    def test_is_rate_limited_per_customer(self, customer_client, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "email_customer": "2/hour"}
        start = timezone.now()
        answers = []
        for step in range(3):
            with time_machine.travel(start + timedelta(seconds=61 * step)):
                answers.append(ask_email(customer_client, f"a{step}@example.com"))

        assert [a.status_code for a in answers] == [202, 202, 429]
        assert answers[2].json()["code"] == "RATE_LIMITED"
        assert len(mail_sent()) == 2

    def test_is_rate_limited_per_address(self, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "email_ip": "2/hour"}
        clients = [_client_for(CustomerFactory()) for _ in range(3)]

        answers = [
            ask_email(client, f"a{n}@example.com").status_code
            for n, client in enumerate(clients)
        ]

        assert answers == [202, 202, 429]

    def test_nothing_is_mailed_when_the_change_is_rolled_back(
        self, customer, django_capture_on_commit_callbacks
    ):
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            services.customer_update(customer=customer, email="a@example.com")
            raise RuntimeError("the request failed after the service")

        assert callbacks == [] and mail_sent() == []
        assert not EmailVerification.objects.exists()


class TestVerifying:
    def test_the_code_makes_the_email_theirs(self, customer_client, customer):
        ask_email(customer_client, "a@example.com")

        response = verify(customer_client, last_emailed_code())

        assert response.status_code == 200
        body = response.json()
        assert body["email"] == "a@example.com" and body["pending_email"] is None
        customer.refresh_from_db()
        assert customer.email == "a@example.com"
        assert customer_client.get("/api/v1/me").json()["email"] == "a@example.com"

    def test_vouchers_issued_to_the_email_follow_only_the_verification(
        self, customer_client, customer
    ):
        voucher = VoucherFactory(owner=None, email="a@example.com")

        ask_email(customer_client, "a@example.com")
        voucher.refresh_from_db()
        assert voucher.owner is None
        verify(customer_client, last_emailed_code())

        voucher.refresh_from_db()
        assert voucher.owner == customer

    def test_a_code_works_once(self, customer_client):
        ask_email(customer_client, "a@example.com")
        code = last_emailed_code()
        assert verify(customer_client, code).status_code == 200

        again = verify(customer_client, code)

        assert again.status_code == 400
        assert again.json()["code"] == "EMAIL_CODE_INVALID"

    def test_five_wrong_tries_burn_the_code(self, customer_client, customer):
        ask_email(customer_client, "a@example.com")
        code = last_emailed_code()

        answers = [
            verify(customer_client, _wrong(code)).json()["code"] for _ in range(5)
        ]
        final = verify(customer_client, code)

        assert answers == ["EMAIL_CODE_INVALID"] * 5
        assert final.json()["code"] == "EMAIL_CODE_ATTEMPTS_EXCEEDED"
        assert EmailVerification.objects.get(customer=customer).attempts == 5
        customer.refresh_from_db()
        assert customer.email is None

    def test_the_code_expires(self, customer_client):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            ask_email(customer_client, "a@example.com")
        with time_machine.travel(start + timedelta(minutes=15), tick=False):
            response = verify(customer_client, last_emailed_code())

        assert response.status_code == 400
        assert response.json()["code"] == "EMAIL_CODE_EXPIRED"

    def test_nothing_asked(self, customer_client):
        response = verify(customer_client, "123456")

        assert response.status_code == 400
        assert response.json()["code"] == "EMAIL_CODE_INVALID"

    @pytest.mark.parametrize("code", ["12345", "12345a", 123456, None])
    def test_code_must_be_six_digits_as_a_string(self, customer_client, code):
        response = verify(customer_client, code)

        assert response.status_code == 400
        assert "code" in response.json()["fields"]

    def test_someone_verified_the_email_first(self, customer_client, customer):
        rival = _client_for(CustomerFactory())
        ask_email(customer_client, "a@example.com")
        my_code = last_emailed_code()
        verify_email(rival, "a@example.com")

        response = verify(customer_client, my_code)

        assert response.status_code == 409
        assert response.json()["code"] == "EMAIL_TAKEN"
        customer.refresh_from_db()
        assert customer.email is None

    def test_staff_cannot_verify(self, staff_client):
        response = verify(staff_client, "123456")

        assert response.status_code == 403


class TestOtherChanges:
    def test_name_changes_at_once(self, customer_client, customer):
        response = customer_client.patch("/api/v1/me", {"name": "Ann"}, format="json")

        assert response.status_code == 200
        assert response.json()["name"] == "Ann"
        customer.refresh_from_db()
        assert customer.name == "Ann"

    @pytest.mark.parametrize("name", [0, 1.5, True, ["Ann"], {"n": 1}])
    def test_name_must_be_a_string(self, customer_client, customer, name):
        before = customer.name

        response = customer_client.patch("/api/v1/me", {"name": name}, format="json")

        assert response.status_code == 400
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert "name" in response.json()["fields"]
        customer.refresh_from_db()
        assert customer.name == before

    def test_an_email_over_254_characters_is_refused(self, customer_client):
        # Valid by the address rules (64-character local part, 63-character labels)
        # but one past the column's 254.
        email = "a" * 64 + "@" + ".".join(["b" * 63] * 2) + "." + "c" * 58 + ".com"
        assert len(email) == 255

        response = ask_email(customer_client, email)

        assert response.status_code == 400
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert "email" in response.json()["fields"]
        assert mail_sent() == []

    def test_the_email_they_have_cancels_a_pending_change(self, customer_client):
        verify_email(customer_client, "mine@example.com")
        with time_machine.travel(timezone.now() + timedelta(seconds=61)):
            ask_email(customer_client, "other@example.com")
            code = last_emailed_code()

            response = ask_email(customer_client, "Mine@example.com")

            assert response.status_code == 200
            assert response.json()["pending_email"] is None
            assert verify(customer_client, code).status_code == 400
        assert customer_client.get("/api/v1/me").json()["email"] == "mine@example.com"

    def test_null_removes_the_email_and_keeps_the_vouchers(
        self, customer_client, customer
    ):
        voucher = VoucherFactory(owner=None, email="mine@example.com")
        verify_email(customer_client, "mine@example.com")

        response = patch_me(customer_client, {"email": None})

        assert response.status_code == 200
        assert response.json()["email"] is None
        customer.refresh_from_db()
        voucher.refresh_from_db()
        assert customer.email is None and voucher.owner == customer
        assert len(mail_sent()) == 1

    def test_name_and_email_together_are_all_or_nothing(
        self, customer_client, customer
    ):
        ask_email(customer_client, "a@example.com")

        response = customer_client.patch(
            "/api/v1/me", {"name": "Bea", "email": "b@example.com"}, format="json"
        )

        assert response.status_code == 429
        customer.refresh_from_db()
        assert customer.name != "Bea"


def test_a_customer_from_before_keeps_their_email(customer):
    """Emails set before verification existed stay (the upgrade keeps them)."""
    Customer.objects.filter(pk=customer.pk).update(email="old@example.com")
    client = _client_for(customer)

    assert client.get("/api/v1/me").json()["email"] == "old@example.com"
