"""Sign-in rules under real concurrency on Postgres."""

import re

import pytest

from couponsite.errors import DomainError
from couponsite.testing import race
from customers import services
from customers.models import ApiToken, Customer, OneTimeCode
from messaging.tests.support import sms_sent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550177"


def _attempt(fn):
    try:
        return fn()
    except DomainError as exc:
        return exc.code


def test_parallel_sends_text_one_code():
    results = race(lambda _: _attempt(lambda: services.otp_send(phone=PHONE)), 20)

    sent = [r for r in results if isinstance(r, OneTimeCode)]
    assert len(sent) == 1
    assert sorted(set(results) - set(sent)) == ["OTP_RESEND_TOO_SOON"]
    assert len(sms_sent()) == 1


def test_parallel_exchanges_of_one_code_give_one_token():
    services.otp_send(phone=PHONE)
    code = re.search(r"\d{6}", sms_sent()[-1].body).group(0)

    results = race(
        lambda _: _attempt(lambda: services.otp_exchange(phone=PHONE, code=code)), 20
    )

    tokens = [r for r in results if isinstance(r, ApiToken)]
    assert len(tokens) == 1
    assert results.count("OTP_INVALID") == 19
    assert Customer.objects.filter(phone=PHONE).count() == 1
    assert ApiToken.objects.count() == 1


def test_parallel_wrong_guesses_are_all_counted_and_capped():
    services.otp_send(phone=PHONE)
    code = re.search(r"\d{6}", sms_sent()[-1].body).group(0)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    results = race(
        lambda _: _attempt(lambda: services.otp_exchange(phone=PHONE, code=wrong)), 20
    )

    assert results.count("OTP_INVALID") == 5
    assert results.count("OTP_ATTEMPTS_EXCEEDED") == 15
    assert OneTimeCode.objects.get(phone=PHONE).attempts == 5
