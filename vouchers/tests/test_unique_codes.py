"""``with_unique_codes`` draws again only when a voucher code collided.

No ``postgres`` mark: these run on SQLite too (``DATABASE_URL=sqlite:///…``),
where the database names the column of the failed UNIQUE, not a constraint.
"""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from couponsite.codes import generate_code
from customers.models import OneTimeCode
from vouchers.models import Voucher
from vouchers.services import CODE_ATTEMPTS, with_unique_codes
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db


def _voucher_like(model: Voucher, code: str, **changes) -> Voucher:
    fields = {
        "code": code,
        "status": model.status,
        "coupon_type": model.coupon_type,
        "campaign": model.campaign,
        "owner": model.owner,
        "benefit_kind": model.benefit_kind,
        "amount": model.amount,
        "currency": model.currency,
    }
    return Voucher.objects.create(**(fields | changes))


def test_a_colliding_code_is_drawn_again():
    taken = VoucherFactory()
    codes = iter([taken.code, generate_code()])
    calls = []

    def create() -> Voucher:
        calls.append(1)
        return _voucher_like(taken, next(codes))

    voucher = with_unique_codes(create)

    assert len(calls) == 2
    assert voucher.code != taken.code
    assert Voucher.objects.count() == 2


def test_codes_that_keep_colliding_give_up_after_the_last_attempt():
    taken = VoucherFactory()
    calls = []

    def create() -> Voucher:
        calls.append(1)
        return _voucher_like(taken, taken.code)

    with pytest.raises(IntegrityError):
        with_unique_codes(create)

    assert len(calls) == CODE_ATTEMPTS


def test_a_broken_check_constraint_is_raised_at_once():
    model = VoucherFactory()
    calls = []

    def create() -> Voucher:
        calls.append(1)
        # Neither a coupon type nor an offer: voucher_has_a_source fails.
        return _voucher_like(model, generate_code(), coupon_type=None)

    with pytest.raises(IntegrityError):
        with_unique_codes(create)

    assert len(calls) == 1


def test_another_unique_whose_name_says_code_is_raised_at_once():
    """customers_onetimecode.phone: its message says "code", but no voucher code
    collided (the old test, ``"code" in str(exc)``, drew five times)."""
    now = timezone.now()
    OneTimeCode.objects.create(
        phone="+15550001111", code_hash="x", sent_at=now, expires_at=now
    )
    calls = []

    def create() -> OneTimeCode:
        calls.append(1)
        return OneTimeCode.objects.create(
            phone="+15550001111", code_hash="y", sent_at=now, expires_at=now
        )

    with pytest.raises(IntegrityError):
        with_unique_codes(create)

    assert len(calls) == 1
