import pytest
from rest_framework.test import APIClient

from couponsite.testing import race
from customers.services import token_create
from vouchers.models import Voucher, VoucherEvent
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_threads_redeeming_one_code_succeed_once():
    voucher = VoucherFactory()
    token = token_create(customer=voucher.owner).key

    def redeem(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post(
            "/api/v1/vouchers/redeem", {"code": voucher.code}, format="json"
        )

    responses = race(redeem, 20)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "ALREADY_REDEEMED"
    }
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.REDEEMED
    assert VoucherEvent.objects.filter(voucher=voucher, kind="redeemed").count() == 1
