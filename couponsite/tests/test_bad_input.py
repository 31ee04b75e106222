"""Input the fuzzer found answering 500 is a 4xx with a code (issue 10, item 6)."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory
from couponsite.api.pagination import MAX_LIMIT
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/campaigns", "/api/v1/vouchers"]


@pytest.fixture
def client(staff_client):
    return staff_client


def _list(client, path, query):
    email = "&email=a@example.com" if path.endswith("vouchers") else ""
    return client.get(f"{path}?{query}{email}")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "query",
    [
        "limit=358922147147728224256",
        "limit=1e30",
        "offset=358922147147728224256",
        "offset=1e30",
        "limit=abc",
        "limit=",
        "limit=0",
        "limit=-1",
        "limit=+5",
        "limit=5.0",
        f"limit={MAX_LIMIT + 1}",
        "offset=-1",
        "offset=x",
    ],
)
def test_bad_paging_is_a_validation_error(client, path, query):
    response = _list(client, path, query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert list(body["fields"]) == [query.split("=")[0]]


@pytest.mark.parametrize("path", LISTS)
def test_paging_inside_its_range_pages(client, path):
    CampaignFactory.create_batch(3)

    response = _list(client, path, f"limit={MAX_LIMIT}&offset=0")

    assert response.status_code == 200
    assert "results" in response.json()


def test_limit_and_offset_page_through(client):
    CampaignFactory.create_batch(3)

    first = client.get("/api/v1/campaigns?limit=2").json()
    rest = client.get("/api/v1/campaigns?limit=2&offset=2").json()

    assert first["count"] == 3
    assert len(first["results"]) == 2 and len(rest["results"]) == 1


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [100_000, 5_000, 33])
@pytest.mark.parametrize(
    "path", ["/api/v1/auth/otp", "/api/v1/vouchers/redeem", "/api/v1/campaigns"]
)
def test_deeply_nested_json_is_malformed(client, path, depth):
    body = '{"code": ' + _nested(depth) + "}"

    response = client.post(path, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


def test_nesting_of_a_real_request_parses(client):
    body = '{"code": ' + _nested(30) + "}"

    response = client.post(
        "/api/v1/vouchers/check", data=body, content_type="application/json"
    )

    assert response.json()["code"] == "VALIDATION_ERROR"


LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"  # 313 characters


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": LONG_EMAIL}, "email"),
        ({"emails": ["ok@x.com", LONG_EMAIL]}, "emails.1"),
    ],
)
def test_emails_longer_than_a_mailbox_are_refused(client, body, field):
    assert len(LONG_EMAIL) > 254
    payload = {
        "offer_name": "KOI",
        "discount": "10",
        "expires_at": (timezone.now() + dt.timedelta(days=9)).isoformat(),
        **body,
    }

    response = client.post("/api/v1/vouchers", payload, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert not Voucher.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/vouchers/check", "/api/v1/vouchers/redeem"])
def test_a_long_email_in_a_check_is_refused(client, path):
    response = client.post(path, {"code": "K7QM3XDP9T", "email": LONG_EMAIL})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["email"]


def test_a_long_email_in_the_staff_list_is_refused(client):
    response = client.get(f"/api/v1/vouchers?email={LONG_EMAIL}")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["email"]


def test_a_malformed_email_in_the_list_is_refused_for_customers_too(customer_client):
    response = customer_client.get("/api/v1/vouchers?email=not-an-email")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["email"]


def test_staff_list_needs_an_email(client):
    response = client.get("/api/v1/vouchers")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["email"]
