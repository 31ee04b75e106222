"""POST /api/v1/campaigns/{slug}/simulations through the HTTP layer."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from campaigns.models import Benefit, Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.models import AuditEntry
from draws.draw.simulation import MAX_RUNS, MAX_SIMULATED_DAYS

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def _url(campaign) -> str:
    return f"/api/v1/campaigns/{campaign.slug}/simulations"


@pytest.fixture
def draft():
    """A draft draw over three local days in Paris: a 5 EUR amount off that
    everyone wins (10 a day, 25 in all) and a free coffee at 50%."""
    campaign = CampaignFactory(
        status=Campaign.Status.DRAFT,
        starts_at=dt.datetime(2026, 12, 1, tzinfo=PARIS),
        ends_at=dt.datetime(2026, 12, 4, tzinfo=PARIS),
    )
    amount = CouponTypeFactory(
        campaign=campaign,
        name="5 off",
        probability=Decimal("0.5"),
        amount=Decimal(5),
        currency="EUR",
        daily_quota=10,
        total_quota=25,
    )
    coffee = CouponTypeFactory(
        campaign=campaign,
        name="coffee",
        probability=Decimal("0.5"),
        benefit_kind=Benefit.Kind.FREE_ITEM,
        amount=None,
        currency="",
        free_item="A coffee",
    )
    return campaign, amount, coffee


def test_a_draft_is_simulated_with_costs_from_amounts_and_given(staff_client, draft):
    campaign, amount, coffee = draft
    audited = AuditEntry.objects.count()

    response = staff_client.post(
        _url(campaign),
        {
            "participants_per_day": 100,
            "coupon_types": [
                {"id": coffee.pk, "cost": "1.20", "redemption_rate": "0.5"}
            ],
            "runs": 50,
            "seed": 5,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["campaign"] == campaign.slug
    assert body["currency"] == "EUR"
    assert (body["runs"], body["seed"], body["timezone"]) == (50, 5, "Europe/Paris")
    assert [day["day"] for day in body["days"]] == [
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
    ]
    five_off, free_coffee = body["coupon_types"]
    # 50 hits a day against a daily quota of 10 and a total of 25: certain
    assert [day["expected_wins"] for day in five_off["days"]] == [10, 10, 5]
    assert five_off["cost"] == 5.0 and five_off["expected_cost"] == 125.0
    assert five_off["total_quota_runs_out"]["share"] == 1.0
    assert five_off["total_quota_runs_out"]["median_at"].startswith("2026-12-03T")
    assert free_coffee["cost"] == 1.2 and free_coffee["redemption_rate"] == 0.5
    assert free_coffee["total_quota_runs_out"] is None
    assert body["total"]["cost_p5"] <= body["total"]["cost_p50"]
    assert body["total"]["cost_p50"] <= body["total"]["cost_p95"]
    # a read: nothing recorded, nothing changed
    assert AuditEntry.objects.count() == audited
    amount.refresh_from_db()
    assert amount.issued_total == 0

    again = staff_client.post(
        _url(campaign),
        {
            "participants_per_day": 100,
            "coupon_types": [
                {"id": coffee.pk, "cost": "1.20", "redemption_rate": "0.5"}
            ],
            "runs": 50,
            "seed": 5,
        },
        format="json",
    )
    assert again.json() == body


def test_a_free_item_without_a_cost_is_refused_naming_it(staff_client, draft):
    campaign, _, coffee = draft

    response = staff_client.post(
        _url(campaign), {"participants_per_day": 100}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert f"(id {coffee.pk})" in body["fields"]["coupon_types"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "non_field_errors"),
        (
            {"participants_per_day": 1, "participants_by_day": [1, 1, 1]},
            "non_field_errors",
        ),
        ({"participants_by_day": [1, 2]}, "participants_by_day"),
        ({"participants_per_day": -1}, "participants_per_day"),
        ({"participants_per_day": 1, "runs": MAX_RUNS + 1}, "runs"),
        ({"participants_per_day": 1, "hourly_profile": [1] * 23}, "hourly_profile"),
        ({"participants_per_day": 1, "hourly_profile": [0] * 24}, "hourly_profile"),
        (
            {"participants_per_day": 1, "coupon_types": [{"id": 999999, "cost": "1"}]},
            "coupon_types",
        ),
        (
            {"participants_per_day": 1, "redemption_rate": "1.5"},
            "redemption_rate",
        ),
    ],
)
def test_invalid_inputs_name_their_field(staff_client, draft, body, field):
    campaign, _, coffee = draft
    body.setdefault("coupon_types", [{"id": coffee.pk, "cost": "1"}])

    response = staff_client.post(_url(campaign), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert field in response.json()["fields"]


def test_too_much_work_is_400_simulation_too_large(staff_client):
    campaign = CampaignFactory(
        starts_at=dt.datetime(2026, 1, 1, tzinfo=PARIS),
        ends_at=dt.datetime(2027, 1, 1, tzinfo=PARIS),
    )
    CouponTypeFactory(campaign=campaign, probability=Decimal("0.1"))

    response = staff_client.post(
        _url(campaign), {"participants_per_day": 10, "runs": MAX_RUNS}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "SIMULATION_TOO_LARGE"


def test_a_campaign_of_more_days_than_simulable_is_refused_before_any_work(
    staff_client,
):
    campaign = CampaignFactory(
        starts_at=dt.datetime(2026, 1, 1, tzinfo=PARIS),
        ends_at=dt.datetime(2026, 1, 1, tzinfo=PARIS)
        + dt.timedelta(days=MAX_SIMULATED_DAYS + 1),
    )
    CouponTypeFactory(campaign=campaign, probability=Decimal("0.1"))

    response = staff_client.post(
        _url(campaign), {"participants_per_day": 10, "runs": 1}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "SIMULATION_TOO_LARGE"
    assert f"{MAX_SIMULATED_DAYS + 1:,} local days" in response.json()["detail"]


def test_a_claim_campaign_is_409_wrong_campaign_kind(staff_client):
    campaign = CampaignFactory(kind=Campaign.Kind.CLAIM)

    response = staff_client.post(
        _url(campaign), {"participants_per_day": 10}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "WRONG_CAMPAIGN_KIND"


def test_customers_and_strangers_may_not_simulate(customer_client, api_client, draft):
    campaign = draft[0]

    as_customer = customer_client.post(
        _url(campaign), {"participants_per_day": 10}, format="json"
    )
    anonymous = api_client.post(
        _url(campaign), {"participants_per_day": 10}, format="json"
    )

    assert as_customer.status_code == 403
    assert as_customer.json()["code"] == "PERMISSION_DENIED"
    assert anonymous.status_code == 401


def test_the_schema_declares_the_simulation_and_its_errors(client):
    schema = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()

    operation = schema["paths"]["/api/v1/campaigns/{slug}/simulations"]["post"]
    assert "SIMULATION_TOO_LARGE" in operation["responses"]["400"]["description"]
    assert "WRONG_CAMPAIGN_KIND" in operation["responses"]["409"]["description"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404", "409"}
