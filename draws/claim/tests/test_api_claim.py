"""The claim-and-hold API: releases (staff), claims (customers), holds and BOLA."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from rest_framework.test import APIClient

from campaigns.models import Campaign
from couponsite.codes import display_code
from customers.services import token_create
from draws.claim.tests.claim_helpers import claim_campaign, first_type, make_customers
from draws.models import Claim
from draws.pool import Release
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _client_for(customer) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    return client


def _claim(client, slug="drop", **headers):
    return client.post(f"/api/v1/campaigns/{slug}/claims", **headers)


def _release(client, body, slug="drop", **headers):
    return client.post(
        f"/api/v1/campaigns/{slug}/releases", body, format="json", **headers
    )


# --- Releases ------------------------------------------------------------------------


def test_staff_release_a_batch(staff_client):
    campaign = claim_campaign()
    coupon_type = first_type(campaign)

    response = _release(
        staff_client, {"coupon_type": coupon_type.pk, "count": 1000, "note": "mon"}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["released"] == 1000
    assert body["coupon_type"] == coupon_type.pk
    assert body["released_by"] == staff_client.user.username
    release = Release.objects.get(pk=body["id"])
    assert release.released_by == staff_client.user
    assert release.vouchers.filter(status=Voucher.Status.AVAILABLE).count() == 1000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": 10}, "coupon_type"),
        ({"coupon_type": "x", "count": 10}, "coupon_type"),
        ({"coupon_type": None, "count": 0}, "count"),
        ({"coupon_type": None, "count": -5}, "count"),
        ({"coupon_type": None, "count": 100_001}, "count"),
        ({"coupon_type": None}, "count"),
        ({"coupon_type": "other", "count": 10}, "coupon_type"),
    ],
)
def test_release_validation_errors_name_the_field(staff_client, body, field):
    campaign = claim_campaign()
    other = claim_campaign(slug="other")
    if body.get("coupon_type", "") is None:
        body["coupon_type"] = first_type(campaign).pk
    elif body.get("coupon_type") == "other":
        body["coupon_type"] = first_type(other).pk

    response = _release(staff_client, body)

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert field in response.json()["fields"]
    assert not Voucher.objects.exists()


def test_only_staff_release(customer_client, api_client):
    campaign = claim_campaign()
    body = {"coupon_type": first_type(campaign).pk, "count": 10}

    as_customer = _release(customer_client, body)
    anonymous = _release(api_client, body)

    assert (as_customer.status_code, as_customer.json()["code"]) == (
        403,
        "PERMISSION_DENIED",
    )
    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "NOT_AUTHENTICATED",
    )
    assert not Voucher.objects.exists()


def test_releases_into_other_kinds_or_unknown_campaigns_are_refused(staff_client):
    draw = claim_campaign(slug="lucky")
    Campaign.objects.filter(pk=draw.pk).update(kind=Campaign.Kind.DRAW)

    wrong_kind = _release(
        staff_client, {"coupon_type": first_type(draw).pk, "count": 5}, slug="lucky"
    )
    unknown = _release(staff_client, {"coupon_type": 1, "count": 5}, slug="nope")

    assert (wrong_kind.status_code, wrong_kind.json()["code"]) == (
        409,
        "WRONG_CAMPAIGN_KIND",
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")
    assert not Voucher.objects.exists()


def test_a_retried_release_with_the_same_key_releases_once(staff_client):
    campaign = claim_campaign()
    body = {"coupon_type": first_type(campaign).pk, "count": 10}

    first = _release(staff_client, body, HTTP_IDEMPOTENCY_KEY="batch-1")
    again = _release(staff_client, body, HTTP_IDEMPOTENCY_KEY="batch-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Voucher.objects.count() == 10


# --- Claims ---------------------------------------------------------------------------


def test_a_claim_answers_the_held_voucher(customer_client):
    campaign = claim_campaign(released=3)
    now = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)

    with time_machine.travel(now, tick=False):
        response = _claim(customer_client)

    assert response.status_code == 201, response.json()
    body = response.json()
    voucher = body["voucher"]
    assert voucher["status"] == "held"
    assert voucher["held_until"] == "2027-03-10T12:05:00Z"
    assert body["held_until"] == voucher["held_until"]
    assert voucher["campaign"] == campaign.slug
    assert voucher["coupon_type"] == first_type(campaign).name
    assert voucher["benefit"]["kind"] == "percent"
    held = Voucher.objects.get(status=Voucher.Status.HELD)
    assert voucher["code"] == display_code(held.code)
    assert held.owner == customer_client.customer


def test_asking_again_that_day_is_429_until_local_midnight(customer_client):
    claim_campaign(released=5, tz="America/New_York")
    tz = zoneinfo.ZoneInfo("America/New_York")

    with time_machine.travel(dt.datetime(2027, 7, 1, 9, 0, tzinfo=tz), tick=False):
        first = _claim(customer_client)
    with time_machine.travel(
        dt.datetime(2027, 7, 1, 23, 59, 30, tzinfo=tz), tick=False
    ):
        again = _claim(customer_client)

    assert first.status_code == 201
    assert again.status_code == 429
    assert again.json()["code"] == "ALREADY_CLAIMED_TODAY"
    assert again["Retry-After"] == "30"


def test_sold_out_is_409(customer_client):
    claim_campaign()

    response = _claim(customer_client)

    assert (response.status_code, response.json()["code"]) == (409, "SOLD_OUT")


def test_claims_outside_the_dates_or_of_another_kind_are_refused(customer_client):
    now = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)
    claim_campaign(
        slug="drop",
        released=1,
        starts_at=now + dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=2),
    )
    lucky = claim_campaign(slug="lucky", released=1)
    Campaign.objects.filter(pk=lucky.pk).update(kind=Campaign.Kind.DRAW)

    with time_machine.travel(now, tick=False):
        early = _claim(customer_client)
        wrong_kind = _claim(customer_client, slug="lucky")
        unknown = _claim(customer_client, slug="nope")

    assert (early.status_code, early.json()["code"]) == (403, "NOT_IN_ACTIVE_TIME")
    assert (wrong_kind.status_code, wrong_kind.json()["code"]) == (
        409,
        "WRONG_CAMPAIGN_KIND",
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")
    assert not Claim.objects.exists()


def test_only_customers_claim(staff_client, api_client):
    claim_campaign(released=1)

    assert _claim(staff_client).status_code == 403
    assert _claim(api_client).status_code == 401


def test_a_retried_claim_with_the_same_key_replays_the_first_answer(customer_client):
    claim_campaign(released=5)

    first = _claim(customer_client, HTTP_IDEMPOTENCY_KEY="k1")
    again = _claim(customer_client, HTTP_IDEMPOTENCY_KEY="k1")
    other_key = _claim(customer_client, HTTP_IDEMPOTENCY_KEY="k2")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other_key.status_code == 429
    assert Claim.objects.count() == 1


@pytest.mark.redis
def test_claims_are_rate_limited(customer_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "claim_customer": "2/minute"}
    claim_campaign(released=5)

    answers = [_claim(customer_client) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 429, 429]
    assert answers[1].json()["code"] == "ALREADY_CLAIMED_TODAY"
    assert answers[2].json()["code"] == "RATE_LIMITED"
    assert int(answers[2]["Retry-After"]) >= 1


# --- Holds through the API: use it or lose it; nobody else's ----------------------------


def test_the_holder_redeems_inside_the_hold(customer_client):
    claim_campaign(released=1)
    code = _claim(customer_client).json()["voucher"]["code"]

    listed = customer_client.get("/api/v1/vouchers").json()
    redeemed = customer_client.post(
        "/api/v1/vouchers/redeem", {"code": code, "order_ref": "A-1"}, format="json"
    )

    assert [v["code"] for v in listed["results"]] == [code]
    assert redeemed.status_code == 200, redeemed.json()
    assert redeemed.json()["voucher"]["status"] == "redeemed"


def test_a_customer_cannot_see_or_redeem_anothers_held_coupon(customer_client):
    claim_campaign(released=2)
    (other,) = make_customers(1)
    other_client = _client_for(other)
    code = _claim(customer_client).json()["voucher"]["code"]
    _claim(other_client)

    seen = other_client.get(f"/api/v1/vouchers/{code}")
    checked = other_client.post("/api/v1/vouchers/check", {"code": code})
    redeemed = other_client.post("/api/v1/vouchers/redeem", {"code": code})
    listed = other_client.get("/api/v1/vouchers").json()["results"]

    assert (seen.status_code, seen.json()["code"]) == (404, "NOT_FOUND")
    assert (checked.status_code, checked.json()["code"]) == (404, "NOT_FOUND")
    assert (redeemed.status_code, redeemed.json()["code"]) == (404, "NOT_FOUND")
    assert code not in [v["code"] for v in listed]
    assert customer_client.get(f"/api/v1/vouchers/{code}").status_code == 200
    assert Voucher.objects.get(owner=customer_client.customer).status == "held"


def test_after_the_hold_the_coupon_is_someone_elses(customer_client):
    claim_campaign(released=1)
    (late,) = make_customers(1)
    t0 = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        code = _claim(customer_client).json()["voucher"]["code"]

    with time_machine.travel(t0 + dt.timedelta(minutes=5), tick=False):
        mine = customer_client.get(f"/api/v1/vouchers/{code}")
        late_claim = _claim(_client_for(late))
        too_late = customer_client.post("/api/v1/vouchers/redeem", {"code": code})

    # the hold ran out: back in the pool, not this customer's any more
    assert (mine.status_code, mine.json()["code"]) == (404, "NOT_FOUND")
    assert late_claim.status_code == 201
    assert late_claim.json()["voucher"]["code"] == code
    assert (too_late.status_code, too_late.json()["code"]) == (409, "HOLD_EXPIRED")
