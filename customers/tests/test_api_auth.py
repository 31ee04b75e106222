"""Phone sign-in: POST /auth/otp texts a code, POST /auth/token trades it for a token."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from customers.models import ApiToken, Customer, OneTimeCode
from messaging.tests.support import sms_sent

# transaction=True: the SMS leaves on commit, so the test must really commit.
pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+14155550123"


def _request_code(client, phone=PHONE):
    return client.post("/api/v1/auth/otp", {"phone": phone}, format="json")


def _last_code() -> str:
    return re.search(r"\b(\d{6})\b", sms_sent()[-1].body).group(1)


def _exchange(client, code, phone=PHONE):
    return client.post(
        "/api/v1/auth/token", {"phone": phone, "code": code}, format="json"
    )


def test_sign_in_creates_customer_and_token_that_works(api_client, settings):
    # given
    settings.TOKEN_TTL_SECONDS = 30 * 86400
    sent = _request_code(api_client, phone="+1 (415) 555-0123")
    assert sent.status_code == 202
    assert sent.json()["phone"] == PHONE
    assert len(sms_sent()) == 1 and sms_sent()[0].to == PHONE

    # when
    response = _exchange(api_client, _last_code())

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["customer"]["phone"] == PHONE
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (timezone.now() + timedelta(days=30))) < timedelta(
        minutes=1
    )
    assert Customer.objects.filter(phone=PHONE).count() == 1
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    me = api_client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["id"] == body["customer"]["id"]


def test_code_is_stored_hashed(api_client):
    _request_code(api_client)

    stored = OneTimeCode.objects.get(phone=PHONE)
    assert _last_code() not in stored.code_hash


def test_second_sign_in_reuses_customer(api_client):
    _request_code(api_client)
    first = _exchange(api_client, _last_code()).json()
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        _request_code(api_client)
        second = _exchange(api_client, _last_code()).json()

    assert first["customer"]["id"] == second["customer"]["id"]
    assert first["token"] != second["token"]


def test_code_is_single_use(api_client):
    _request_code(api_client)
    code = _last_code()
    assert _exchange(api_client, code).status_code == 200

    again = _exchange(api_client, code)

    assert again.status_code == 400
    assert again.json()["code"] == "OTP_INVALID"


def test_code_expires_after_five_minutes(api_client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _request_code(api_client)
    code = _last_code()

    with time_machine.travel(start + timedelta(seconds=299), tick=False):
        assert _exchange(api_client, code).status_code == 200

    with time_machine.travel(start + timedelta(seconds=400), tick=False):
        _request_code(api_client)
    late_code = _last_code()
    with time_machine.travel(start + timedelta(seconds=400 + 300), tick=False):
        response = _exchange(api_client, late_code)
    assert response.status_code == 400
    assert response.json()["code"] == "OTP_EXPIRED"


def test_five_wrong_tries_burn_the_code(api_client):
    _request_code(api_client)
    code = _last_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    answers = [_exchange(api_client, wrong).json()["code"] for _ in range(5)]
    final = _exchange(api_client, code)

    assert answers == ["OTP_INVALID"] * 5
    assert final.status_code == 400
    assert final.json()["code"] == "OTP_ATTEMPTS_EXCEEDED"
    assert OneTimeCode.objects.get(phone=PHONE).attempts == 5
    assert not ApiToken.objects.exists()


def test_resend_is_limited_to_one_per_30_seconds(api_client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert _request_code(api_client).status_code == 202
        first_code = _last_code()
    with time_machine.travel(start + timedelta(seconds=10), tick=False):
        refused = _request_code(api_client)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        accepted = _request_code(api_client)
        new_code = _last_code()

    assert refused.status_code == 429
    assert refused.json()["code"] == "OTP_RESEND_TOO_SOON"
    assert refused["Retry-After"] == "20"
    assert accepted.status_code == 202
    assert len(sms_sent()) == 2
    if new_code != first_code:  # the old code died with the resend
        assert _exchange(api_client, first_code).json()["code"] == "OTP_INVALID"
    assert _exchange(api_client, new_code).status_code == 200


def test_no_code_requested(api_client):
    response = _exchange(api_client, "123456")

    assert response.status_code == 400
    assert response.json()["code"] == "OTP_INVALID"


def test_code_must_be_six_digits(api_client):
    response = _exchange(api_client, "12ab")

    assert response.status_code == 400
    assert "code" in response.json()["fields"]


def test_otp_requests_are_rate_limited_per_phone(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "otp_phone": "2/hour"}
    start = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)  # well inside one hour window
    answers = []
    for step in range(3):
        with time_machine.travel(start + timedelta(seconds=31 * step), tick=False):
            answers.append(_request_code(api_client))

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["code"] == "RATE_LIMITED"
    assert int(answers[2]["Retry-After"]) > 0
    assert len(sms_sent()) == 2


class TestTokens:
    def test_me_needs_a_token(self, api_client):
        response = api_client.get("/api/v1/me")

        assert response.status_code == 401
        assert response.json()["code"] == "NOT_AUTHENTICATED"
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_unknown_token(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer nope")

        response = api_client.get("/api/v1/me")

        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_TOKEN"

    def test_revoked_token(self, customer):
        from customers.services import token_create, token_revoke

        token = token_create(customer=customer)
        token_revoke(token=token)
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")

        assert client.get("/api/v1/me").json()["code"] == "INVALID_TOKEN"

    def test_deactivating_a_customer_stops_their_cached_token(
        self, customer_client, customer
    ):
        assert customer_client.get("/api/v1/me").status_code == 200  # owner now cached
        customer.is_active = False
        customer.save()  # as the admin does

        assert customer_client.get("/api/v1/me").status_code == 401

    def test_staff_token_is_not_a_customer(self, staff_client):
        response = staff_client.get("/api/v1/me")

        assert response.status_code == 403
        assert response.json()["code"] == "PERMISSION_DENIED"

    def test_token_of_demoted_staff_stops_working(self, staff_client, staff_user):
        assert staff_client.get("/api/v1/me").status_code == 403  # valid staff, cached
        staff_user.is_staff = False
        staff_user.save()

        assert staff_client.get("/api/v1/me").json()["code"] == "INVALID_TOKEN"

    def test_revoked_token_stops_at_once(self, customer):
        from rest_framework.test import APIClient

        from customers.services import token_create, token_revoke

        token = token_create(customer=customer)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
        assert client.get("/api/v1/me").status_code == 200

        token_revoke(token=token)

        assert client.get("/api/v1/me").status_code == 401

    @pytest.mark.redis
    def test_token_lookup_is_cached_in_redis(
        self, customer_client, django_assert_num_queries
    ):
        customer_client.get("/api/v1/me")

        with django_assert_num_queries(0):
            assert customer_client.get("/api/v1/me").status_code == 200

    def test_only_digest_is_stored(self, customer):
        from customers.services import token_create

        token = token_create(customer=customer)

        stored = ApiToken.objects.get(pk=token.pk)
        assert token.key not in (stored.digest, stored.prefix)
        assert stored.digest == ApiToken.digest_of(token.key)
