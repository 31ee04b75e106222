"""Sign-in and email codes go ``RETENTION_SIGNIN_CODES`` after their last send."""

import datetime as dt

import pytest
from django.utils import timezone

import customers.tasks
from couponsite.testing.tasks import run_queued_tasks
from customers import services
from customers.models import Customer, EmailVerification, OneTimeCode
from customers.services.retention import codes_purge

pytestmark = pytest.mark.django_db


def _code(phone: str, *, age: dt.timedelta) -> OneTimeCode:
    sent = timezone.now() - age
    return OneTimeCode.objects.create(
        phone=phone, code_hash="h", sent_at=sent, expires_at=sent
    )


def _email_code(customer: Customer, *, age: dt.timedelta, verified: bool):
    sent = timezone.now() - age
    return EmailVerification.objects.create(
        customer=customer,
        email=f"c{customer.pk}@example.com",
        code_hash="h",
        sent_at=sent,
        expires_at=sent,
        verified_at=sent if verified else None,
    )


def test_codes_older_than_the_setting_go_and_newer_ones_stay(settings):
    settings.RETENTION_SIGNIN_CODES = dt.timedelta(days=30)
    _code("+14155550100", age=dt.timedelta(days=31))
    _code("+14155550101", age=dt.timedelta(days=29))
    old_customer = Customer.objects.create(phone="+14155550102", email="c@example.com")
    new_customer = Customer.objects.create(phone="+14155550103")
    _email_code(old_customer, age=dt.timedelta(days=45), verified=True)
    _email_code(new_customer, age=dt.timedelta(hours=1), verified=False)

    result = customers.tasks.purge_signin_codes.enqueue()
    assert run_queued_tasks() == 1

    assert customers.tasks.purge_signin_codes.get_result(result.id).return_value == {
        "sign_in_codes": 1,
        "email_codes": 1,
    }
    assert list(OneTimeCode.objects.values_list("phone", flat=True)) == ["+14155550101"]
    assert list(EmailVerification.objects.values_list("customer", flat=True)) == [
        new_customer.pk
    ]
    # The verified email stays the customer's.
    old_customer.refresh_from_db()
    assert old_customer.email == "c@example.com"
    # Twice is harmless.
    assert codes_purge() == {"sign_in_codes": 0, "email_codes": 0}


def test_a_phone_whose_code_was_purged_signs_in_again(settings):
    settings.RETENTION_SIGNIN_CODES = dt.timedelta(days=1)
    services.otp_send(phone="+14155550104")
    OneTimeCode.objects.update(sent_at=timezone.now() - dt.timedelta(days=2))

    assert codes_purge()["sign_in_codes"] == 1
    challenge = services.otp_send(phone="+14155550104")
    assert challenge.attempts == 0
    assert OneTimeCode.objects.count() == 1
