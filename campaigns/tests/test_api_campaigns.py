"""POST/GET /api/v1/campaigns: staff create campaigns with coupon types; anyone reads."""

import datetime as dt

import pytest

from campaigns.models import Campaign, CouponType
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from draws.draw.fairness import draw_seeds_prepare

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns"


_NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _payload(**overrides) -> dict:
    body = {
        "name": "Summer Lucky Draw",
        "kind": "draw",
        "timezone": "Asia/Hong_Kong",
        "starts_at": _NOW.isoformat(),
        "ends_at": (_NOW + dt.timedelta(days=90)).isoformat(),
        "coupon_types": [
            {
                "name": "$5 Cash Coupon",
                "benefit_kind": "amount",
                "amount": "5",
                "currency": "usd",
                "probability": "0.05",
                "total_quota": 100,
                "daily_quota": 10,
            },
            {
                "name": "Buy 1 get 1 free",
                "benefit_kind": "free_item",
                "free_item": "Buy 1 get 1 free",
                "probability": "0.3",
                "daily_quota": 100,
            },
        ],
    }
    body.update(overrides)
    return body


def test_staff_creates_campaign_with_coupon_types(staff_client, staff_user):
    response = staff_client.post(URL, _payload(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "summer-lucky-draw"
    assert [t["name"] for t in body["coupon_types"]] == [
        "$5 Cash Coupon",
        "Buy 1 get 1 free",
    ]
    assert body["coupon_types"][0]["benefit"]["currency"] == "USD"
    assert body["coupon_types"][1]["total_quota"] is None
    campaign = Campaign.objects.get(slug="summer-lucky-draw")
    assert campaign.created_by == staff_user
    assert campaign.coupon_types.count() == 2


def test_slug_is_made_unique(staff_client):
    staff_client.post(URL, _payload(), format="json")

    second = staff_client.post(URL, _payload(), format="json")

    assert second.json()["slug"] == "summer-lucky-draw-2"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"ends_at": "2026-05-01T00:00:00Z"}, "ends_at"),
        # Ends after it starts, but already over: nobody could ever take part.
        (
            {
                "starts_at": (_NOW - dt.timedelta(days=9)).isoformat(),
                "ends_at": (_NOW - dt.timedelta(days=1)).isoformat(),
            },
            "ends_at",
        ),
        ({"ends_at": _NOW.isoformat()}, "ends_at"),
        ({"kind": "lottery"}, "kind"),
        ({"coupon_types": []}, "coupon_types"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_campaign_fields(staff_client, change, field):
    response = staff_client.post(URL, _payload(**change), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert field in body["fields"]
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("type_change", "field"),
    [
        ({"probability": "1.5"}, "probability"),
        ({"probability": "-0.1"}, "probability"),
        ({"total_quota": -1}, "total_quota"),
        ({"daily_quota": "many"}, "daily_quota"),
        ({"benefit_kind": "amount", "amount": None, "currency": "USD"}, "amount"),
        ({"benefit_kind": "percent"}, "percent"),
        ({"code_prefix": "IOU!"}, "code_prefix"),
        ({"valid_days": 2147483647}, "valid_days"),
        ({"valid_days": 3_000_000}, "valid_days"),
        ({"quota_shards": 0}, "quota_shards"),
        ({"quota_shards": 65}, "quota_shards"),
        ({"quota_shards": "eight"}, "quota_shards"),
    ],
)
def test_invalid_coupon_types(staff_client, type_change, field):
    payload = _payload()
    payload["coupon_types"][1].update(type_change)

    response = staff_client.post(URL, payload, format="json")

    assert response.status_code == 400
    # A nested error is named by its dotted path, its value a list of strings.
    fields = response.json()["fields"]
    assert list(fields) == [f"coupon_types.1.{field}"]
    assert all(
        isinstance(message, str) for message in fields[f"coupon_types.1.{field}"]
    )
    assert not Campaign.objects.exists()


def test_staff_spread_a_hot_types_quota_over_shards(staff_client):
    payload = _payload()
    payload["coupon_types"][1].update(quota_shards=8, total_quota=100)

    response = staff_client.post(URL, payload, format="json")

    assert response.status_code == 201
    coupon_type = CouponType.objects.get(name=payload["coupon_types"][1]["name"])
    assert coupon_type.quota_shards == 8
    shares = coupon_type.quota_shard_rows.values_list("total_share", flat=True)
    assert sorted(shares) == [12] * 4 + [13] * 4


def test_probabilities_may_not_add_up_past_one(staff_client):
    payload = _payload()
    payload["coupon_types"][0]["probability"] = "0.8"

    response = staff_client.post(URL, payload, format="json")

    assert response.status_code == 400
    assert "add up to" in response.json()["fields"]["coupon_types"][0]


def test_an_empty_list_of_coupon_types_is_named_by_its_field(staff_client):
    response = staff_client.post(URL, _payload(coupon_types=[]), format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "coupon_types": ["This list may not be empty."]
    }


def test_duplicate_type_names(staff_client):
    payload = _payload()
    payload["coupon_types"][1]["name"] = payload["coupon_types"][0]["name"]

    assert staff_client.post(URL, payload, format="json").status_code == 400


def test_customers_cannot_create(customer_client):
    response = customer_client.post(URL, _payload(), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"


def test_anonymous_cannot_create(api_client):
    assert api_client.post(URL, _payload(), format="json").status_code == 401


def test_list_shows_running_campaigns_only(api_client, django_assert_num_queries):
    running = CampaignFactory()
    CampaignFactory(status=Campaign.Status.DRAFT)
    CampaignFactory(
        starts_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        ends_at=dt.datetime(2000, 2, 1, tzinfo=dt.UTC),
    )

    with django_assert_num_queries(2):  # count + page
        response = api_client.get(URL)

    assert [c["slug"] for c in response.json()["results"]] == [running.slug]


def test_detail_has_types_and_todays_figures(api_client):
    coupon_type = CouponTypeFactory(daily_quota=10, total_quota=100)

    response = api_client.get(f"{URL}/{coupon_type.campaign.slug}")

    assert response.status_code == 200
    body = response.json()
    assert body["coupon_types"][0]["name"] == coupon_type.name
    assert body["today"]["draws_today"] == 0
    assert body["today"]["coupon_types"][0]["left_today"] == 10
    assert body["today"]["coupon_types"][0]["left_total"] == 100
    assert body["windows"] is None


def test_drafts_are_hidden_from_customers(customer_client, staff_client):
    draft = CampaignFactory(status=Campaign.Status.DRAFT)

    assert customer_client.get(f"{URL}/{draft.slug}").json()["code"] == "NOT_FOUND"
    assert staff_client.get(f"{URL}/{draft.slug}").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_rush_detail_shows_the_days_reservations_and_coupons(api_client):
    import zoneinfo

    import time_machine

    from customers.tests.factories import CustomerFactory
    from draws.rush.services import rush_reserve

    taipei = zoneinfo.ZoneInfo("Asia/Taipei")
    campaign = CampaignFactory(kind=Campaign.Kind.RUSH, timezone="Asia/Taipei")
    CouponTypeFactory(campaign=campaign, probability=0)
    during_reservations = dt.datetime.now(taipei).replace(hour=22, minute=57, second=0)
    with time_machine.travel(during_reservations, tick=False):
        for _ in range(6):
            rush_reserve(campaign=campaign, customer=CustomerFactory())
        body = api_client.get(f"{URL}/{campaign.slug}").json()

    rush = body["today"]["rush"]
    assert rush["day"] == during_reservations.date().isoformat()
    assert (rush["reservations"], rush["coupons"], rush["grabs"]) == (6, 1, 0)
    assert rush["sold_out_at"] is None
    assert body["windows"]["rush_opens"] == "23:00:00"


def test_a_campaigns_figures_take_a_few_queries(api_client, django_assert_num_queries):
    campaign = CouponTypeFactory(probability=1).campaign
    draw_seeds_prepare()  # as the schedule does ahead of each day

    # the campaign (by slug, then again with its coupon types: two queries), its
    # coupon types' coupons counted in one, today's draws in one, today's seed
    with django_assert_num_queries(6):
        response = api_client.get(f"/api/v1/campaigns/{campaign.slug}")

    assert response.json()["today"]["coupon_types"][0]["issued_total"] == 0
