"""The OpenAPI schema covers every endpoint and its errors; the docs pages work offline."""

import re

import pytest
from django.urls import resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    return response.json()


def test_schema_lists_the_endpoints(schema):
    assert {"/api/v1/auth/otp", "/api/v1/auth/token", "/api/v1/me"} <= set(
        schema["paths"]
    )


def test_every_operation_documents_error_responses(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = [int(code) for code in operation["responses"]]
            assert any(code >= 400 for code in codes), (
                f"{method} {path} lists no errors"
            )


def test_bearer_scheme_is_declared(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_nothing_from_the_internet(client, path):
    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


def test_rate_limited_operations_declare_429(schema):
    for path, operations in schema["paths"].items():
        view = resolve(re.sub(r"\{[^}]+\}", "x", path)).func.cls
        for method, operation in operations.items():
            if view.throttle_classes:
                assert "429" in operation["responses"], f"{method} {path}"
    assert "429" in schema["paths"]["/api/v1/vouchers/{code}"]["get"]["responses"]
