"""What a client built from the schema sends is accepted, and answers look as declared
(issue 19 items 1, 2, 4; issue 10 item 9's server side)."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CouponType
from campaigns.tests.factories import CouponTypeFactory
from draws.claim.tests.claim_helpers import claim_campaign, first_type
from vouchers.models import Voucher
from vouchers.services import vouchers_generate

pytestmark = pytest.mark.django_db


# --- 19.1: optional fields are omitted or null -----------------------------------------


@pytest.mark.parametrize("extra", [{}, {"note": None}, {"note": "monday"}])
def test_release_with_the_note_omitted_or_null(staff_client, extra):
    campaign = claim_campaign()
    body = {"coupon_type": first_type(campaign).pk, "count": 3, **extra}

    response = staff_client.post(
        f"/api/v1/campaigns/{campaign.slug}/releases", body, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["note"] == (extra.get("note") or None)


@pytest.fixture
def pool_voucher(staff_user):
    [voucher] = vouchers_generate(
        emails=["buyer@example.com"],
        offer_name="KOI",
        discount=10,
        expires_at=timezone.now() + dt.timedelta(days=9),
        acting_user=staff_user,
    )
    return voucher


@pytest.mark.parametrize("extra", [{}, {"order_ref": None}])
def test_redeem_with_the_order_ref_omitted_or_null(staff_client, pool_voucher, extra):
    response = staff_client.post(
        "/api/v1/vouchers/redeem",
        {"code": pool_voucher.code, "email": "buyer@example.com", **extra},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["voucher"]["order_ref"] is None
    pool_voucher.refresh_from_db()
    assert pool_voucher.order_ref == ""


# --- 19.2: absent is null ----------------------------------------------------------------


def test_a_won_voucher_without_email_answers_null(customer_client):
    coupon_type = CouponTypeFactory(
        probability=1, benefit_kind="percent", percent=10, amount=None, currency=""
    )

    voucher = customer_client.post(
        f"/api/v1/campaigns/{coupon_type.campaign.slug}/draws"
    ).json()["voucher"]

    assert voucher["email"] is None and voucher["order_ref"] is None
    assert voucher["benefit"]["currency"] is None
    assert voucher["benefit"]["free_item"] is None
    assert voucher["benefit"]["percent"] == "10.00"


def test_a_pool_voucher_answers_its_email(staff_client, pool_voucher):
    response = staff_client.get("/api/v1/vouchers?email=buyer@example.com")

    [voucher] = response.json()["results"]
    assert voucher["email"] == "buyer@example.com"
    assert voucher["benefit"]["free_item"] is None


def test_a_campaigns_coupon_types_answer_null_for_absent_benefit_fields(api_client):
    coupon_type = CouponTypeFactory(
        benefit_kind="free_item", free_item="Coffee", amount=None, currency=""
    )

    body = api_client.get(f"/api/v1/campaigns/{coupon_type.campaign.slug}").json()

    benefit = body["coupon_types"][0]["benefit"]
    assert benefit == {
        "kind": "free_item",
        "amount": None,
        "currency": None,
        "percent": None,
        "free_item": "Coffee",
        "text": "Coffee",
    }


# --- 19.4: benefit_kind's default is the declared one ------------------------------------


def _campaign(coupon_type: dict) -> dict:
    now = timezone.now()
    return {
        "name": "Spring",
        "kind": "draw",
        "timezone": "Europe/Paris",
        "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(days=9)).isoformat(),
        "coupon_types": [{"name": "Ten", "probability": "0.5", **coupon_type}],
    }


def test_a_coupon_type_without_benefit_kind_is_a_percentage(staff_client):
    response = staff_client.post(
        "/api/v1/campaigns", _campaign({"percent": "10"}), format="json"
    )

    assert response.status_code == 201, response.json()
    assert CouponType.objects.get().benefit_kind == CouponType.Kind.PERCENT


def test_a_coupon_type_without_benefit_kind_or_percent_names_percent(staff_client):
    response = staff_client.post(
        "/api/v1/campaigns",
        _campaign({"amount": "5", "currency": "USD"}),
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["coupon_types.0.percent"]


# --- 10.9: the server refuses what the schema's patterns refuse --------------------------


@pytest.mark.parametrize(
    "window", ["23:00:00+01:00", "23:00:00Z", "23:00:00.5", "24:00", "7:00"]
)
def test_rush_windows_are_local_times_without_offset(staff_client, window):
    body = _campaign({"percent": "10"})
    body.update(kind="rush", rush_opens=window)
    body["coupon_types"][0].pop("probability")

    response = staff_client.post("/api/v1/campaigns", body, format="json")

    assert response.status_code == 400
    assert "rush_opens" in response.json()["fields"]
    assert not Campaign.objects.exists()


def test_rush_windows_answer_as_local_times(staff_client):
    body = _campaign({"percent": "10"})
    body.update(kind="rush", reservation_opens="22:50")
    body["coupon_types"][0].pop("probability")

    response = staff_client.post("/api/v1/campaigns", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["windows"]["reservation_opens"] == "22:50:00"


@pytest.mark.parametrize(
    "phone", ["+1 800 FLOWERS", "tel:+1-415-555-0123", "+14155550123 ext. 5"]
)
def test_phones_outside_the_pattern_are_refused(api_client, phone):
    response = api_client.post("/api/v1/auth/otp", {"phone": phone}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["phone"]


@pytest.mark.parametrize("phone", ["+1 (415) 555-0123", "+1.415.555.0123"])
def test_phones_inside_the_pattern_are_read(api_client, phone):
    response = api_client.post("/api/v1/auth/otp", {"phone": phone}, format="json")

    assert response.status_code == 202, response.json()
    assert response.json()["phone"] == "+14155550123"


def test_an_idempotency_key_with_a_space_is_refused(staff_client, pool_voucher):
    response = staff_client.post(
        "/api/v1/vouchers/redeem",
        {"code": pool_voucher.code, "email": "buyer@example.com"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order 1",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    pool_voucher.refresh_from_db()
    assert pool_voucher.status == Voucher.Status.ISSUED


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": 0}, "name"),
        ({"slug": 0}, "slug"),
        ({"description": 1.5}, "description"),
        ({"coupon_types": [{"name": 0, "percent": "5", "probability": "0.5"}]}, None),
    ],
)
def test_campaign_strings_must_be_json_strings(staff_client, change, field):
    body = {**_campaign({"percent": "10"}), **change}

    response = staff_client.post("/api/v1/campaigns", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field or "coupon_types.0.name"]
    assert not Campaign.objects.exists()


def test_voucher_strings_must_be_json_strings(staff_client, pool_voucher):
    redeem = staff_client.post(
        "/api/v1/vouchers/redeem", {"code": pool_voucher.code, "order_ref": 7}
    )
    generate = staff_client.post(
        "/api/v1/vouchers",
        {
            "email": "a@example.com",
            "offer_name": 5,
            "discount": "10",
            "expires_at": (timezone.now() + dt.timedelta(days=9)).isoformat(),
        },
    )

    assert list(redeem.json()["fields"]) == ["order_ref"]
    assert list(generate.json()["fields"]) == ["offer_name"]
    pool_voucher.refresh_from_db()
    assert pool_voucher.status == Voucher.Status.ISSUED


def test_release_note_must_be_a_json_string(staff_client):
    campaign = claim_campaign()
    body = {"coupon_type": first_type(campaign).pk, "count": 3, "note": 3}

    response = staff_client.post(
        f"/api/v1/campaigns/{campaign.slug}/releases", body, format="json"
    )

    assert list(response.json()["fields"]) == ["note"]
