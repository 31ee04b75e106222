"""Rate limits are atomic sliding windows: parallel requests cannot overshoot the
limit, and neither can a burst where a fixed window would turn over."""

import datetime as dt
import logging
import time

import pytest
import time_machine
from rest_framework.test import APIClient

from couponsite.api import throttling
from couponsite.api.exceptions import RateLimited
from couponsite.api.throttling import (
    Rate,
    check_rate_limits,
    count_hits,
    refuse_if_spent,
)
from couponsite.testing import race
from customers.services import token_create

pytestmark = pytest.mark.urls("couponsite.tests.urls")

# One second before a minute (and an hour) turns over.
EDGE = dt.datetime(2030, 1, 1, 0, 59, 59, 500_000, tzinfo=dt.UTC)


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
    third_mine = _post(mine).status_code  # refused: counts against no limit
    theirs_same_address = [_post(theirs).status_code for _ in range(2)]
    theirs_elsewhere = _post(theirs, address="203.0.113.5").status_code

    assert first_two == [200, 200]
    assert third_mine == 429
    assert theirs_same_address == [200, 429]  # the address's 3rd hit, then spent
    assert theirs_elsewhere == 200


@pytest.mark.django_db
def test_off_disables_a_limit(customer, limits):
    limits(test_customer="off", test_ip="off")
    token = token_create(customer=customer).key

    assert {_post(token).status_code for _ in range(30)} == {200}


def _allowed(limits, count: int) -> int:
    allowed = 0
    for _ in range(count):
        try:
            check_rate_limits(limits)
        except RateLimited:
            continue
        allowed += 1
    return allowed


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "local"])
def backend(request, settings, monkeypatch):
    """Run on Redis (the script, clock passed in) and on the in-process windows."""
    if request.param == "local":
        settings.REDIS_URL = ""
    # The limiter's clock follows time_machine (without Redis it does anyway).
    monkeypatch.setattr(throttling, "clock", time.time, raising=False)
    return request.param


def test_no_burst_past_the_limit_where_a_fixed_window_would_turn_over(backend, limits):
    # given: the whole minute's allowance spent in its last second
    limits(unit_ip="10/minute")
    ip = [("unit_ip", "192.0.2.1")]
    with time_machine.travel(EDGE, tick=False) as traveller:
        before_edge = _allowed(ip, 10)

        # when: ten more arrive a second later, in the next clock minute
        traveller.shift(1)
        after_edge = _allowed(ip, 10)
        with pytest.raises(RateLimited) as refused:
            check_rate_limits(ip)

        # then: a minute after the first ten, there is room for ten again
        traveller.shift(59)
        a_minute_later = _allowed(ip, 12)

    assert before_edge == 10
    assert after_edge == 0
    assert refused.value.retry_after == 59
    assert a_minute_later == 10


def test_retry_after_is_when_the_oldest_hit_leaves_the_window(backend, limits):
    limits(unit_ip="3/minute")
    ip = [("unit_ip", "192.0.2.2")]
    with time_machine.travel(EDGE, tick=False) as traveller:
        for _ in range(3):
            check_rate_limits(ip)
            traveller.shift(10)  # hits at 0 s, 10 s and 20 s
        with pytest.raises(RateLimited) as refused:
            check_rate_limits(ip)  # at 30 s
        traveller.shift(30)  # 60 s: the first hit has left
        check_rate_limits(ip)
        with pytest.raises(RateLimited) as refused_again:
            check_rate_limits(ip)

    assert refused.value.retry_after == 30
    assert refused_again.value.retry_after == 10  # the 10 s hit leaves at 70 s


def test_a_refused_hit_counts_against_no_limit(backend, limits):
    limits(unit_customer="1/hour", unit_ip="3/hour")
    mine = [("unit_customer", "customer:1"), ("unit_ip", "192.0.2.3")]
    theirs = [("unit_customer", "customer:2"), ("unit_ip", "192.0.2.3")]
    with time_machine.travel(EDGE, tick=False):
        mine_allowed = _allowed(mine, 20)
        theirs_allowed = _allowed(theirs, 1)

    assert (mine_allowed, theirs_allowed) == (1, 1)


def test_failures_counted_past_the_limit_keep_it_spent_no_longer_than_a_period(
    backend, limits
):
    limits(unit_fail="2/hour")
    fails = [("unit_fail", "customer:9")]
    with time_machine.travel(EDGE, tick=False) as traveller:
        refuse_if_spent(fails)
        for _ in range(5):  # parallel failures may all pass the check first
            count_hits(fails)
        with pytest.raises(RateLimited) as refused:
            refuse_if_spent(fails)
        traveller.shift(3600)
        refuse_if_spent(fails)  # nothing raised: the hour has passed

    assert refused.value.retry_after == 3600


@pytest.mark.redis
def test_redis_counts_on_its_own_clock_whatever_the_web_node_says(limits):
    # given: two web nodes whose clocks are a day apart (throttling.clock unset)
    limits(unit_ip="2/hour")
    ip = [("unit_ip", "192.0.2.4")]
    with time_machine.travel(EDGE, tick=False):
        check_rate_limits(ip)
    with time_machine.travel(EDGE + dt.timedelta(days=1), tick=False):
        check_rate_limits(ip)
        # when / then: the third hit is refused, whichever node takes it
        with pytest.raises(RateLimited) as refused:
            check_rate_limits(ip)

    assert 3590 <= refused.value.retry_after <= 3600


@pytest.mark.redis
def test_redis_down_fails_open_with_a_warning_and_no_traceback(
    redis_down, limits, log_records
):
    limits(unit_ip="1/hour")
    ip = [("unit_ip", "192.0.2.5")]
    records = log_records("couponsite.api.throttling")

    allowed = _allowed(ip, 3)
    refuse_if_spent(ip)

    assert allowed == 3
    assert records
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in records)


def test_rate_parsing():
    assert Rate.parse("10/min") == Rate(10, 60)
    assert Rate.parse("5/hour") == Rate(5, 3600)
    assert Rate.parse("100/d") == Rate(100, 86400)
    assert Rate.parse("off") is None


def test_bad_rate_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        Rate.parse("ten per minute")
    with pytest.raises(ImproperlyConfigured):
        Rate.parse("0/hour")
