"""Erasure under real concurrency on Postgres: a sign-in of the same phone
racing the erasure never leaves an erased customer with a live token, nor a
new customer for the phone (which could draw a second time today)."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from couponsite.errors import DomainError
from couponsite.testing import race
from customers import services
from customers.models import ApiToken, Customer, OneTimeCode
from customers.services.signin import _code_hash
from customers.tests.factories import CustomerFactory
from messaging.tests.support import sms_sent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 12


def _attempt(fn):
    try:
        return fn()
    except DomainError as exc:
        return exc.code


def _code_arrives(phone: str) -> str:
    """A sign-in code sent to ``phone`` this instant (its row written now)."""
    now = timezone.now()
    OneTimeCode.objects.create(
        phone=phone,
        code_hash=_code_hash(phone, "246810"),
        sent_at=now,
        expires_at=now + dt.timedelta(minutes=5),
    )
    return "246810"


@pytest.mark.parametrize("code_sent", ["before", "during"])
def test_a_sign_in_racing_the_erasure_of_its_phone_gets_nothing_that_lasts(
    code_sent,
):
    staff = get_user_model().objects.create_user("support", is_staff=True)
    for trial in range(TRIALS):
        # given a customer, and a sign-in code sent to their phone just before
        # the race, or during it (the erasure sees no code row to lock)
        phone = f"+1415555{2000 + trial:04d}"
        customer = CustomerFactory(phone=phone)
        code = None
        if code_sent == "before":
            services.otp_send(phone=phone)
            code = re.search(r"\d{6}", sms_sent()[-1].body).group(0)

        # when the sign-in and the erasure race
        def racer(index: int, customer=customer, phone=phone, code=code):
            if index == 0:
                typed = code or _code_arrives(phone)
                return _attempt(lambda: services.otp_exchange(phone=phone, code=typed))
            return _attempt(
                lambda: services.customer_erase(
                    customer=customer, acting_user=staff, reason="race"
                )
            )

        signed_in, erased = race(racer, 2)

        # then the erasure happened, and whatever the sign-in got does not work
        assert isinstance(erased, Customer), erased
        assert signed_in in ("OTP_INVALID", "PHONE_RECENTLY_ERASED") or isinstance(
            signed_in, ApiToken
        )
        assert not ApiToken.objects.active().filter(customer=customer).exists()
        assert not Customer.objects.filter(phone=phone).exists()
