"""A claimed coupon whose hold ran out is not its former holder's any more: it
reads as NOT_FOUND like any other coupon that is not the caller's; using it
answers HOLD_EXPIRED, the same whether or not the sweeper ran or someone else
claimed it since. A held coupon tells its real deadline (``redeem_by``)."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import CLAIM_VALID_DAYS_REFUSED, Campaign, CouponType
from campaigns.tests.admin_forms import campaign_add_form, campaign_add_url
from campaigns.tests.factories import CouponTypeFactory
from customers.services import token_create
from draws.claim.releases import batch_release
from draws.claim.services import holds_release_expired
from draws.claim.tests.claim_helpers import claim_campaign, first_type, make_customers
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T0 = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)
LAPSED = T0 + dt.timedelta(seconds=301)


def _client_for(customer) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    return client


def _answers(client, code: str) -> dict[str, tuple[int, str]]:
    """What GET, check and redeem answer for ``code`` (status, code or status)."""
    seen = client.get(f"/api/v1/vouchers/{code}")
    checked = client.post("/api/v1/vouchers/check", {"code": code})
    redeemed = client.post("/api/v1/vouchers/redeem", {"code": code})

    def outcome(response):
        body = response.json()
        return response.status_code, body.get("code") if "detail" in body else "ok"

    return {
        "get": outcome(seen),
        "check": outcome(checked),
        "redeem": outcome(redeemed),
    }


AFTER_THE_HOLD = {
    "get": (404, "NOT_FOUND"),
    "check": (409, "HOLD_EXPIRED"),
    "redeem": (409, "HOLD_EXPIRED"),
}
STRANGER = {
    "get": (404, "NOT_FOUND"),
    "check": (404, "NOT_FOUND"),
    "redeem": (404, "NOT_FOUND"),
}


@pytest.fixture
def held_code():
    """A coupon claimed at T0 with a five-minute hold; (code, holder client)."""
    claim_campaign(released=1, hold_seconds=300)
    (holder,) = make_customers(1)
    client = _client_for(holder)
    with time_machine.travel(T0, tick=False):
        claim = client.post("/api/v1/campaigns/drop/claims").json()
    return claim["voucher"]["code"], client


@pytest.mark.parametrize("then", ["nothing", "swept", "claimed_by_another"])
def test_a_lapsed_hold_is_not_the_former_holders_any_more(
    held_code, staff_client, then
):
    # given a hold that ran out, and then: nothing, the sweeper, or a new claim
    code, holder = held_code
    (stranger, late) = make_customers(2, start=8000)
    with time_machine.travel(LAPSED, tick=False):
        if then == "swept":
            assert holds_release_expired() == 1
        if then == "claimed_by_another":
            assert (
                _client_for(late)
                .post("/api/v1/campaigns/drop/claims")
                .json()["voucher"]["code"]
                == code
            )

        # when the former holder, a stranger and staff ask
        former = _answers(holder, code)
        other = _answers(_client_for(stranger), code)
        staff = staff_client.get(f"/api/v1/vouchers/{code}")

    # then the former holder reads NOT_FOUND and hears HOLD_EXPIRED when using
    # it, the same in every case; a stranger NOT_FOUND; staff still see it
    assert former == AFTER_THE_HOLD
    assert other == STRANGER
    assert staff.status_code == 200
    voucher = Voucher.objects.get()
    assert voucher.status != Voucher.Status.REDEEMED
    if then == "claimed_by_another":
        assert voucher.owner == late and staff.json()["status"] == "held"
    else:
        assert staff.json()["status"] == "available"


def test_inside_the_hold_the_holder_reads_and_redeems_it(held_code):
    code, holder = held_code

    with time_machine.travel(T0 + dt.timedelta(seconds=299), tick=False):
        seen = holder.get(f"/api/v1/vouchers/{code}")
        redeemed = holder.post("/api/v1/vouchers/redeem", {"code": code})

    assert (seen.status_code, seen.json()["status"]) == (200, "held")
    assert redeemed.status_code == 200


def test_a_held_coupon_tells_its_real_deadline(held_code):
    code, holder = held_code

    with time_machine.travel(T0 + dt.timedelta(seconds=10), tick=False):
        body = holder.get(f"/api/v1/vouchers/{code}").json()

    assert body["expires_at"] is None  # the pool's coupons never expire here...
    assert dt.datetime.fromisoformat(body["held_until"]) == T0 + dt.timedelta(
        seconds=300
    )
    assert body["redeem_by"] == body["held_until"]  # ...but this one ends then


def test_the_deadline_is_the_sooner_of_hold_and_expiry(customer_client):
    # given a claim type whose coupons end a minute into the hold
    campaign = claim_campaign(hold_seconds=300)
    coupon_type = first_type(campaign)
    coupon_type.valid_until = T0 + dt.timedelta(seconds=60)
    coupon_type.save()
    batch_release(acting_user=None, coupon_type=coupon_type, count=1)

    with time_machine.travel(T0, tick=False):
        body = customer_client.post("/api/v1/campaigns/drop/claims").json()

    voucher = body["voucher"]
    assert dt.datetime.fromisoformat(voucher["redeem_by"]) == T0 + dt.timedelta(
        seconds=60
    )
    assert voucher["redeem_by"] == voucher["expires_at"] != voucher["held_until"]


def test_an_issued_coupon_is_redeemable_until_it_expires(customer_client):
    coupon_type = CouponTypeFactory(probability=1, valid_days=7)

    body = customer_client.post(
        f"/api/v1/campaigns/{coupon_type.campaign.slug}/draws"
    ).json()["voucher"]

    assert body["redeem_by"] == body["expires_at"] is not None
    redeemed = customer_client.post(
        "/api/v1/vouchers/redeem", {"code": body["code"]}
    ).json()
    assert redeemed["voucher"]["redeem_by"] is None  # used: no deadline any more


# --- valid_days has no meaning for claim coupons: refused --------------------------


def _claim_payload(**coupon_type) -> dict:
    return {
        "name": "Daily drop",
        "kind": "claim",
        "timezone": "UTC",
        "starts_at": "2026-06-01T00:00:00Z",
        # A new campaign must end in the future.
        "ends_at": (timezone.now() + dt.timedelta(days=90)).isoformat(),
        "coupon_types": [
            {"name": "10% off", "benefit_kind": "percent", "percent": "10"}
            | coupon_type
        ],
    }


def test_the_api_refuses_valid_days_on_a_claim_coupon_type(staff_client):
    refused = staff_client.post(
        "/api/v1/campaigns", _claim_payload(valid_days=30), format="json"
    )
    accepted = staff_client.post(
        "/api/v1/campaigns", _claim_payload(hold_seconds=600), format="json"
    )

    assert refused.status_code == 400
    assert refused.json()["fields"]["coupon_types"] == [CLAIM_VALID_DAYS_REFUSED]
    assert accepted.status_code == 201
    assert Campaign.objects.count() == 1


def test_the_admin_ignores_valid_days_on_a_claim_campaign(admin_client):
    """A claim's coupon is due when its hold ends: its form has no valid_days."""
    data = campaign_add_form(
        **{
            "name": "Admin drop",
            "slug": "admin-drop",
            "kind": "claim",
            "timezone": "UTC",
            "coupon_types-0-name": "10% off",
            "coupon_types-0-benefit_kind": "percent",
            "coupon_types-0-percent": "10",
            "coupon_types-0-amount": "",
            "coupon_types-0-currency": "",
            "coupon_types-0-probability": "0",
            "coupon_types-0-valid_days": "45",
        }
    )
    url = campaign_add_url("claim")

    page = admin_client.get(url)
    response = admin_client.post(url, data)

    assert 'name="coupon_types-0-valid_days"' not in page.content.decode()
    assert response.status_code == 302
    coupon_type = Campaign.objects.get(slug="admin-drop").coupon_types.get()
    assert coupon_type.valid_days == CouponType._meta.get_field("valid_days").default
