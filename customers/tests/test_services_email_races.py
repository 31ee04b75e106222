"""Email verification rules under real concurrency on Postgres."""

import re
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.utils import timezone

from couponsite.errors import DomainError
from couponsite.testing import race
from customers import services
from customers.models import Customer, EmailVerification
from customers.tests.factories import CustomerFactory
from messaging.tests.support import mail_sent
from vouchers.models import Voucher
from vouchers.services import vouchers_generate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EMAIL = "race@example.com"


def _attempt(fn):
    try:
        return fn()
    except DomainError as exc:
        return exc.code


def _code_for(email: str) -> str:
    body = [m for m in mail_sent() if email in m.to][-1].body
    return re.search(r"\b(\d{6})\b", body).group(1)


def _fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def test_parallel_asks_mail_one_code():
    customer = CustomerFactory()

    results = race(
        lambda n: _attempt(
            lambda: services.email_verification_start(
                customer=_fresh(customer), email=f"r{n}@example.com"
            )
        ),
        20,
    )

    sent = [r for r in results if isinstance(r, EmailVerification)]
    assert len(sent) == 1
    assert sorted(set(results) - set(sent)) == ["EMAIL_RESEND_TOO_SOON"]
    assert len(mail_sent()) == 1


def test_one_code_verifies_once():
    customer = CustomerFactory()
    services.email_verification_start(customer=customer, email=EMAIL)
    code = _code_for(EMAIL)

    results = race(
        lambda _: _attempt(
            lambda: services.email_verify(customer=_fresh(customer), code=code)
        ),
        20,
    )

    wins = [r for r in results if isinstance(r, Customer)]
    assert len(wins) == 1
    assert sorted(set(results) - set(wins)) == ["EMAIL_CODE_INVALID"]


def test_parallel_wrong_guesses_are_all_counted(settings):
    settings.EMAIL_CODE_MAX_ATTEMPTS = 5
    customer = CustomerFactory()
    services.email_verification_start(customer=customer, email=EMAIL)
    wrong = f"{(int(_code_for(EMAIL)) + 1) % 1_000_000:06d}"

    results = race(
        lambda _: _attempt(
            lambda: services.email_verify(customer=_fresh(customer), code=wrong)
        ),
        12,
    )

    assert results.count("EMAIL_CODE_INVALID") == 5
    assert results.count("EMAIL_CODE_ATTEMPTS_EXCEEDED") == 7
    assert EmailVerification.objects.get(customer=customer).attempts == 5


def test_two_customers_verifying_one_email_one_wins_and_gets_the_vouchers():
    for trial in range(10):
        email = f"both{trial}@example.com"
        rivals = [CustomerFactory(), CustomerFactory()]
        codes = []
        for rival in rivals:
            services.email_verification_start(customer=rival, email=email)
            codes.append(_code_for(email))
        vouchers_generate(
            acting_user=None,
            emails=[email],
            offer_name="KOI",
            discount=Decimal("10"),
            expires_at=timezone.now() + timedelta(days=1),
        )

        results = race(
            lambda n, rivals=rivals, codes=codes: _attempt(
                lambda: services.email_verify(customer=_fresh(rivals[n]), code=codes[n])
            ),
            2,
        )

        [winner] = [r for r in results if isinstance(r, Customer)]
        assert [r for r in results if not isinstance(r, Customer)] == ["EMAIL_TAKEN"]
        assert Customer.objects.filter(email=email).get() == winner
        assert {v.owner_id for v in Voucher.objects.filter(email=email)} == {winner.pk}


def test_vouchers_issued_while_the_email_is_verified_are_not_left_unowned():
    """Generating locks the email's pending verification, so a verification that
    comes in meanwhile waits and then links the new vouchers."""
    customer = CustomerFactory()
    services.email_verification_start(customer=customer, email=EMAIL)
    code = _code_for(EMAIL)
    generated, release = threading.Event(), threading.Event()
    verified = threading.Event()

    def generate():
        try:
            with transaction.atomic():
                vouchers_generate(
                    acting_user=None,
                    emails=[EMAIL],
                    offer_name="KOI",
                    discount=Decimal("10"),
                    expires_at=timezone.now() + timedelta(days=1),
                )
                generated.set()
                release.wait(10)  # still uncommitted
        finally:
            connections.close_all()

    def verify():
        try:
            services.email_verify(customer=_fresh(customer), code=code)
            verified.set()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=generate), threading.Thread(target=verify)]
    threads[0].start()
    assert generated.wait(10)
    threads[1].start()
    time.sleep(0.5)
    waited = not verified.is_set()
    release.set()
    for thread in threads:
        thread.join(15)

    assert waited, "the verification should wait for the vouchers being issued"
    assert verified.is_set()
    assert Voucher.objects.get(email=EMAIL).owner_id == customer.pk
