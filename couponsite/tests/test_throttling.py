"""Rate limits are atomic: parallel requests cannot overshoot the limit."""

import pytest
from rest_framework.test import APIClient

from couponsite.api.exceptions import RateLimited
from couponsite.api.throttling import Rate, check_rate_limits
from couponsite.testing import race
from customers.services import token_create

pytestmark = [
    pytest.mark.urls("couponsite.tests.urls"),
    pytest.mark.usefixtures("start_of_rate_window"),
]


@pytest.fixture
def limits(settings):
    def set_limits(**rates):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}

    return set_limits


def _post(token: str | None, address: str = "127.0.0.1"):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post("/test/throttled", REMOTE_ADDR=address)


@pytest.mark.redis
def test_hundred_parallel_requests_against_ten_let_ten_through(limits):
    limits(test_customer="off", test_ip="10/hour")

    responses = race(lambda _: _post(None), 100)

    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 90
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["code"] == "RATE_LIMITED"
    assert 0 < int(refused["Retry-After"]) <= 3600


@pytest.mark.redis
def test_hundred_parallel_hits_on_redis_counter(limits):
    limits(unit_ip="10/minute")

    def hit(_):
        try:
            check_rate_limits([("unit_ip", "198.51.100.7")])
        except RateLimited:
            return False
        return True

    assert race(hit, 100).count(True) == 10


@pytest.mark.django_db
def test_customer_and_address_limits_are_separate(customer, limits):
    from customers.tests.factories import CustomerFactory

    limits(test_customer="2/hour", test_ip="3/hour")
    mine = token_create(customer=customer).key
    theirs = token_create(customer=CustomerFactory()).key

    first_two = [_post(mine).status_code for _ in range(2)]
    third_mine = _post(mine).status_code
    theirs_same_address = _post(theirs).status_code  # 4th hit on the address
    theirs_elsewhere = _post(theirs, address="203.0.113.5").status_code

    assert first_two == [200, 200]
    assert third_mine == 429
    assert theirs_same_address == 429
    assert theirs_elsewhere == 200


@pytest.mark.django_db
def test_off_disables_a_limit(customer, limits):
    limits(test_customer="off", test_ip="off")
    token = token_create(customer=customer).key

    assert {_post(token).status_code for _ in range(30)} == {200}


def test_rate_parsing():
    assert Rate.parse("10/min") == Rate(10, 60)
    assert Rate.parse("5/hour") == Rate(5, 3600)
    assert Rate.parse("100/d") == Rate(100, 86400)
    assert Rate.parse("off") is None


def test_bad_rate_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        Rate.parse("ten per minute")
