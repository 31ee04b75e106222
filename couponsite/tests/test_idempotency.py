"""``Idempotency-Key``: one effect per key, replayed answers, 409 and 422."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from couponsite.api import idempotency
from couponsite.api.exceptions import STATUS_BY_CODE
from couponsite.models import IdempotencyKey
from couponsite.testing import race
from couponsite.tests.views import Refused
from customers.models import ApiToken
from customers.services import token_create

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("couponsite.tests.urls"),
]

URL = "/test/idempotent"


@pytest.fixture
def token(customer):
    return token_create(customer=customer).key


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _post(token, body, key="key-1"):
    return _client(token).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _fingerprint(body: dict) -> str:
    """The hash the decorator computes for a POST of ``body`` to URL."""
    return idempotency._fingerprint(SimpleNamespace(method="POST", path=URL, data=body))


def _effects(customer) -> int:
    return ApiToken.objects.filter(customer=customer, name="effect").count()


def test_twenty_concurrent_identical_requests_have_one_effect(customer, token):
    responses = race(lambda _: _post(token, {"sleep": 0.3}), 20)

    assert _effects(customer) == 1
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 409}
    created = [r.json() for r in responses if r.status_code == 201]
    assert created and all(body == created[0] for body in created)
    conflicts = [r.json()["code"] for r in responses if r.status_code == 409]
    assert set(conflicts) <= {"IDEMPOTENCY_IN_PROGRESS"}
    assert all(r["Retry-After"] == "1" for r in responses if r.status_code == 409)


def test_retry_after_completion_replays_the_first_answer(customer, token):
    first = _post(token, {"n": 1})
    second = _post(token, {"n": 1})

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert _effects(customer) == 1


def test_same_key_different_body_is_422(customer, token):
    _post(token, {"n": 1})

    response = _post(token, {"n": 2})

    assert response.status_code == 422
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert _effects(customer) == 1


def test_in_progress_with_same_body_is_409(customer, token):
    IdempotencyKey.objects.create(
        owner=f"customer:{customer.pk}",
        endpoint=f"POST {URL}",
        key="key-1",
        request_hash=_fingerprint({"n": 1}),
    )

    response = _post(token, {"n": 1})

    assert response.status_code == 409
    assert response.json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert _effects(customer) == 0


def test_keys_are_per_customer(customer, token):
    from customers.tests.factories import CustomerFactory

    other = CustomerFactory()
    other_token = token_create(customer=other).key

    _post(token, {"n": 1})
    _post(other_token, {"n": 1})

    assert _effects(customer) == 1
    assert _effects(other) == 1


def test_domain_error_is_stored_and_replayed(customer, token, monkeypatch):
    monkeypatch.setitem(STATUS_BY_CODE, Refused.code, 409)

    first = _post(token, {"refuse": True})
    second = _post(token, {"refuse": True})

    assert first.status_code == second.status_code == 409
    assert second.json() == {
        "code": "REFUSED_FOR_TEST",
        "detail": "The request was refused.",
    }
    assert second["Idempotent-Replayed"] == "true"


def test_crash_releases_the_key_and_rolls_back(customer, token):
    client = _client(token)
    client.raise_request_exception = False

    crashed = client.post(URL, {"crash": True}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert crashed.status_code == 500
    assert not IdempotencyKey.objects.exists()
    assert _effects(customer) == 0


def test_expired_key_runs_again(customer, token):
    _post(token, {"n": 1})
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    response = _post(token, {"n": 1})

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert _effects(customer) == 2


def test_abandoned_in_progress_key_is_taken_over(customer, token):
    old = timezone.now() - timedelta(minutes=5)
    IdempotencyKey.objects.create(
        owner=f"customer:{customer.pk}",
        endpoint=f"POST {URL}",
        key="key-1",
        request_hash=_fingerprint({"n": 1}),
        created_at=old,
        updated_at=old,
    )

    response = _post(token, {"n": 1})

    assert response.status_code == 201
    assert _effects(customer) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve"])
def test_bad_key_is_rejected(customer, token, key):
    response = _post(token, {"n": 1}, key=key)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert _effects(customer) == 0


def test_without_key_every_request_acts(customer, token):
    client = _client(token)
    client.post(URL, {"n": 1}, format="json")
    client.post(URL, {"n": 1}, format="json")

    assert _effects(customer) == 2


def test_purge_command_deletes_only_expired_keys(customer, token):
    from io import StringIO

    from django.core.management import call_command

    _post(token, {"n": 1}, key="old")
    _post(token, {"n": 1}, key="new")
    _post(token, {"n": 1}, key="past-replay")
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=49)
    )
    # Past the 24 h replay window, still inside the 48 h retention: kept.
    IdempotencyKey.objects.filter(key="past-replay").update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    call_command("purge_idempotency_keys", stdout=StringIO())

    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {
        "new",
        "past-replay",
    }
