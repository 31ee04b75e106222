"""Every error answer is JSON with a stable ``code`` and a ``detail``."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_validation_error_names_the_fields(api_client):
    response = api_client.post(
        "/api/v1/auth/otp", {"phone": "not a phone"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["detail"]
    assert list(body["fields"]) == ["phone"]


def test_missing_field_is_a_validation_error(api_client):
    response = api_client.post(
        "/api/v1/auth/token", {"phone": "+14155550123"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["code"] == ["This field is required."]


def test_malformed_json(api_client):
    response = api_client.post(
        "/api/v1/auth/otp", data='{"phone": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


def test_json_array_instead_of_object(api_client):
    response = api_client.post(
        "/api/v1/auth/otp", data="[1, 2]", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_unsupported_media_type(api_client):
    response = api_client.post(
        "/api/v1/auth/otp", data="phone=1", content_type="text/plain"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_method_not_allowed(api_client):
    response = api_client.get("/api/v1/auth/otp")

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/nothing-here", "/api/v1/auth/otp/extra"]
)
def test_unknown_route_answers_json(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "NOT_FOUND"


def test_admin_404_stays_html(admin_client):
    response = admin_client.get("/admin/no-such-app/")

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


@pytest.mark.urls("couponsite.tests.urls")
def test_crash_answers_json_500():
    client = APIClient(raise_request_exception=False)

    response = client.get("/test/crash")

    assert response.status_code == 500
    assert response.json() == {
        "code": "INTERNAL_ERROR",
        "detail": "Something went wrong on our side.",
    }


def test_healthz_rejects_post_with_json(api_client):
    response = api_client.post("/healthz")

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
