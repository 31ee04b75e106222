"""The abuse controls on sign-in texts (customers.services.sms_limits): the
country allow-list, the phone prefix's hourly limit, the site's hourly budget
with its alarm (log, back office), decided by Postgres with or without Redis."""

import datetime as dt
import logging

import pytest
import time_machine
from rest_framework.test import APIClient

from couponsite import metrics
from couponsite.errors import DomainError
from couponsite.testing import race
from customers import services
from customers.models import OneTimeCode, SmsCount
from messaging.tests.support import sms_sent

pytestmark = [pytest.mark.postgres]

OTP = "/api/v1/auth/otp"
# 12:59:40 UTC: the hour ends 20 s later.
NOW = dt.datetime(2026, 4, 24, 12, 59, 40, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "otp_ip": "off", "otp_phone": "off"}
    with time_machine.travel(NOW, tick=False):
        yield


def _otp(phone: str) -> tuple[int, dict, dict]:
    response = APIClient().post(OTP, {"phone": phone}, format="json")
    return response.status_code, response.json(), response.headers


def _refusals(reason: str) -> float:
    return metrics.SMS_REFUSALS.labels(reason)._value.get()


@pytest.mark.django_db
def test_a_phone_outside_the_allowed_countries_gets_no_code(settings):
    settings.SMS_ALLOWED_COUNTRIES = frozenset({"US"})
    before = _refusals("country")

    status, body, _ = _otp("+447911123456")

    assert (status, body["code"]) == (403, "COUNTRY_NOT_ALLOWED")
    assert sms_sent() == [] and not OneTimeCode.objects.exists()
    assert not SmsCount.objects.exists()
    assert _refusals("country") == before + 1
    assert _otp("+14155550123")[0] == 202


@pytest.mark.django_db
def test_an_empty_allow_list_allows_every_country(settings):
    settings.SMS_ALLOWED_COUNTRIES = frozenset()

    assert _otp("+85291234567")[0] == 202


@pytest.mark.django_db
def test_a_prefix_gets_its_limit_per_hour_and_the_others_go_on(settings):
    settings.SMS_PREFIX_LIMIT = 2
    settings.SMS_PREFIX_DIGITS = 6

    answers = [_otp(f"+1415555{n:04d}") for n in range(3)]

    assert [status for status, _, _ in answers] == [202, 202, 429]
    _, body, headers = answers[2]
    assert body["code"] == "PHONE_PREFIX_THROTTLED"
    assert headers["Retry-After"] == "20"
    assert len(sms_sent()) == 2
    # another prefix is not held back, and the refused one took nothing
    assert _otp("+14155560000")[0] == 202
    row = SmsCount.objects.get(prefix="1415555")
    assert (row.sent, row.refused) == (2, 1)
    assert SmsCount.objects.get(prefix="").sent == 3
    # the next hour counts afresh
    with time_machine.travel(NOW + dt.timedelta(seconds=21), tick=False):
        assert _otp("+14155550009")[0] == 202


@pytest.mark.django_db(transaction=True)  # the warning is logged on commit
def test_the_budget_alarm_is_logged_once_and_shown_in_the_back_office(
    settings, log_records, admin_client
):
    settings.SMS_HOURLY_BUDGET = 5
    settings.SMS_BUDGET_WARN_PERCENT = 80
    records = log_records("customers.services.sms_limits")
    before = _refusals("budget")

    statuses = [_otp(f"+1415{n}550123")[0] for n in range(2, 9)]

    assert statuses == [202] * 5 + [429] * 2
    assert len(sms_sent()) == 5
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (
            logging.WARNING,
            "SMS budget alarm: 4 of 5 sign-in texts sent in the hour from "
            "2026-04-24 12:00 UTC (80%)",
        ),
        (
            logging.ERROR,
            "SMS budget alarm: the hourly budget of 5 sign-in texts is spent for "
            "the hour from 2026-04-24 12:00 UTC; further codes are refused until "
            "the next hour",
        ),
    ]
    assert _refusals("budget") == before + 2
    page = admin_client.get("/admin/").content.decode()
    assert 'id="sms-budget-alarm"' in page
    assert "5 of 5 sign-in texts" in page and "2 refused so far" in page
    listed = admin_client.get("/admin/customers/smscount/")
    assert 'href="/admin/customers/smscount/"' in page
    assert [
        (row.prefix, row.sent, row.refused) for row in listed.context["cl"].result_list
    ] == [
        ("", 5, 2),
        *[(f"1415{n}55", 1, 0) for n in range(6, 1, -1)],
    ]
    # a refused request answers the wait to the next hour
    status, body, headers = _otp("+14159550123")
    assert (status, body["code"], headers["Retry-After"]) == (
        429,
        "SMS_BUDGET_EXHAUSTED",
        "20",
    )
    assert SmsCount.objects.get(prefix="").sent == 5


@pytest.mark.django_db
def test_no_alarm_on_the_start_page_below_the_line(settings, admin_client):
    settings.SMS_HOURLY_BUDGET = 10
    _otp("+14155550123")

    assert b"sms-budget-alarm" not in admin_client.get("/admin/").content


@pytest.mark.django_db
def test_without_redis_the_limits_answer_the_same(settings, redis_down):
    settings.SMS_PREFIX_LIMIT = 1

    first, second = _otp("+14155550101"), _otp("+14155550102")

    assert (first[0], second[0], second[1]["code"]) == (
        202,
        429,
        "PHONE_PREFIX_THROTTLED",
    )


@pytest.mark.django_db(transaction=True)
def test_racing_requests_never_send_more_than_the_budget(settings):
    # given a budget of N, and 2N different phones asking at once
    settings.SMS_PREFIX_LIMIT = 0
    budget = 6
    settings.SMS_HOURLY_BUDGET = budget

    def ask(n: int):
        try:
            return services.otp_send(phone=f"+1415{n % 8 + 2}55{n:04d}")
        except DomainError as exc:
            return exc.code

    results = race(ask, 2 * budget)

    # then exactly N are texted, the others refused
    assert sum(isinstance(r, OneTimeCode) for r in results) == budget
    assert results.count("SMS_BUDGET_EXHAUSTED") == budget
    assert len(sms_sent()) == budget
    assert SmsCount.objects.get(prefix="").sent == budget


@pytest.mark.django_db(transaction=True)
def test_racing_requests_never_pass_a_prefix_limit(settings):
    settings.SMS_PREFIX_LIMIT = 3

    def ask(n: int):
        try:
            return services.otp_send(phone=f"+1415555{n:04d}")
        except DomainError as exc:
            return exc.code

    results = race(ask, 10)

    assert sum(isinstance(r, OneTimeCode) for r in results) == 3
    assert results.count("PHONE_PREFIX_THROTTLED") == 7
    assert SmsCount.objects.get(prefix="1415555").sent == 3
