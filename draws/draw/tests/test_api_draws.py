"""POST /api/v1/campaigns/{slug}/draws through the HTTP layer."""

import pytest

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from draws.models import Draw
from messaging.tests.support import sms_sent

pytestmark = pytest.mark.django_db(transaction=True)


def _url(campaign) -> str:
    return f"/api/v1/campaigns/{campaign.slug}/draws"


def test_win(customer_client):
    coupon_type = CouponTypeFactory(probability=1)

    response = customer_client.post(_url(coupon_type.campaign))

    assert response.status_code == 201
    body = response.json()
    assert body["won"] is True
    assert body["coupon_type"]["name"] == coupon_type.name
    assert body["voucher"]["status"] == "issued"
    assert len(body["voucher"]["code"].replace("-", "")) == 10
    assert len(sms_sent()) == 1


def test_loss(customer_client):
    campaign = CampaignFactory()
    CouponTypeFactory(campaign=campaign, probability=1, daily_quota=0)

    body = customer_client.post(_url(campaign)).json()

    assert body["won"] is False
    assert body["coupon_type"] is None and body["voucher"] is None


def test_second_draw_same_day_is_429_until_local_midnight(customer_client):
    # Like a second claim: "already done today" is 429 with Retry-After.
    coupon_type = CouponTypeFactory(probability=1)
    customer_client.post(_url(coupon_type.campaign))

    response = customer_client.post(_url(coupon_type.campaign))

    assert response.status_code == 429
    assert response.json()["code"] == "ALREADY_DRAWN_TODAY"
    midnight = coupon_type.campaign.seconds_to_local_midnight()
    assert abs(int(response["Retry-After"]) - midnight) <= 2


def test_the_schema_declares_a_repeat_draw_as_429(client):
    schema = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()

    responses = schema["paths"]["/api/v1/campaigns/{slug}/draws"]["post"]["responses"]

    assert "ALREADY_DRAWN_TODAY" in str(responses["429"])
    assert "409" not in responses or "ALREADY_DRAWN_TODAY" not in str(responses["409"])


def test_idempotent_retry_returns_the_first_draw(customer_client):
    coupon_type = CouponTypeFactory(probability="0.5")

    first = customer_client.post(
        _url(coupon_type.campaign), HTTP_IDEMPOTENCY_KEY="draw-1"
    )
    retry = customer_client.post(
        _url(coupon_type.campaign), HTTP_IDEMPOTENCY_KEY="draw-1"
    )

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert Draw.objects.count() == 1


def test_unknown_campaign(customer_client):
    response = customer_client.post("/api/v1/campaigns/nope/draws")

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_paused_campaign(customer_client):
    campaign = CampaignFactory(status=Campaign.Status.PAUSED)

    response = customer_client.post(_url(campaign))

    assert response.status_code == 403
    assert response.json()["code"] == "NOT_IN_ACTIVE_TIME"


def test_staff_cannot_draw(staff_client):
    coupon_type = CouponTypeFactory()

    assert staff_client.post(_url(coupon_type.campaign)).status_code == 403


def test_anonymous_cannot_draw(api_client):
    coupon_type = CouponTypeFactory()

    assert (
        api_client.post(_url(coupon_type.campaign)).json()["code"]
        == "NOT_AUTHENTICATED"
    )


def test_draws_are_rate_limited(customer_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "draw_customer": "2/hour"}
    campaigns = [CouponTypeFactory(probability=0).campaign for _ in range(3)]

    statuses = [customer_client.post(_url(c)).status_code for c in campaigns]

    assert statuses == [201, 201, 429]
