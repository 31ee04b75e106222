import pytest
from rest_framework.test import APIClient

from campaigns.tests.factories import CouponTypeFactory
from couponsite.testing import race, race_width
from customers.services import token_create
from customers.tests.factories import CustomerFactory
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


@pytest.mark.parametrize("trial", range(3))
def test_racing_redemptions_never_pass_the_per_customer_limit(trial):
    """One customer's vouchers of one campaign, limit 2, all redeemed at once
    (each by its own thread): exactly two succeed, the rest are refused."""
    coupon_type = CouponTypeFactory()
    customer = CustomerFactory()
    vouchers = [
        VoucherFactory(owner=customer, coupon_type=coupon_type, per_customer_limit=2)
        for _ in range(race_width(8))
    ]
    token = token_create(customer=customer).key

    def redeem(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post(
            "/api/v1/vouchers/redeem", {"code": vouchers[index].code}, format="json"
        )

    responses = race(redeem, len(vouchers))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200] + [409] * (len(vouchers) - 2)
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "REDEMPTION_LIMIT_REACHED"
    }
    assert Voucher.objects.filter(status=Voucher.Status.REDEEMED).count() == 2
    assert VoucherEvent.objects.filter(kind="redeemed").count() == 2
