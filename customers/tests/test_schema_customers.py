"""The OpenAPI schema says what the customer endpoints answer."""

import pytest

from couponsite.api.schema import admits_null

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    return response.json()


def _codes(operation, status: str) -> list[str]:
    examples = operation["responses"][status]["content"]["application/json"]
    return [example["value"]["code"] for example in examples["examples"].values()]


def test_changing_the_email_is_declared_without_email_taken(schema):
    patch = schema["paths"]["/api/v1/me"]["patch"]
    request = schema["components"]["schemas"]["PatchedCustomerUpdateRequest"]

    # 503: every operation may meet a database outage (couponsite.api.schema).
    assert {"200", "202", "400", "401", "403", "429", "503"} == set(patch["responses"])
    assert "409" not in patch["responses"]
    assert set(_codes(patch, "429")) == {"EMAIL_RESEND_TOO_SOON", "RATE_LIMITED"}
    assert request["properties"]["email"]["maxLength"] == 254
    assert admits_null(request["properties"]["email"])
    assert request["properties"]["name"]["type"] == "string"


def test_verifying_the_email_is_declared(schema):
    post = schema["paths"]["/api/v1/me/email/verify"]["post"]

    assert set(_codes(post, "400")) >= {
        "EMAIL_CODE_INVALID",
        "EMAIL_CODE_EXPIRED",
        "EMAIL_CODE_ATTEMPTS_EXCEEDED",
        "VALIDATION_ERROR",
    }
    assert _codes(post, "409") == ["EMAIL_TAKEN"]
    customer = schema["components"]["schemas"]["Customer"]["properties"]
    assert admits_null(customer["pending_email"])


def test_tokens_say_when_they_end(schema):
    token = schema["components"]["schemas"]["Token"]
    me = schema["paths"]["/api/v1/me"]["get"]

    assert token["properties"]["expires_at"]["format"] == "date-time"
    assert "expires_at" in token["required"]
    assert "TOKEN_EXPIRED" in _codes(me, "401")


def test_the_sign_in_code_declares_the_abuse_controls(schema):
    post = schema["paths"]["/api/v1/auth/otp"]["post"]

    assert _codes(post, "403") == ["COUNTRY_NOT_ALLOWED"]
    assert set(_codes(post, "429")) == {
        "OTP_RESEND_TOO_SOON",
        "PHONE_PREFIX_THROTTLED",
        "SMS_BUDGET_EXHAUSTED",
        "RATE_LIMITED",
    }
    assert post["responses"]["429"]["headers"]["Retry-After"]["required"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/campaigns/{slug}/draws",
        "/api/v1/campaigns/{slug}/claims",
        "/api/v1/campaigns/{slug}/reservations",
        "/api/v1/campaigns/{slug}/grabs",
    ],
)
def test_every_way_of_taking_part_declares_customer_blocked(schema, path):
    assert "CUSTOMER_BLOCKED" in _codes(schema["paths"][path]["post"], "403")


@pytest.mark.parametrize("change", ["block", "unblock"])
def test_blocking_declares_every_answer(schema, change):
    post = schema["paths"][f"/api/v1/customers/{{customer_id}}/{change}"]["post"]

    assert post["security"] == [{"bearerAuth": []}]
    assert {"200", "400", "401", "403", "404", "409", "422", "503"} == set(
        post["responses"]
    )
    assert set(_codes(post, "403")) == {"PERMISSION_DENIED"}
    assert _codes(post, "404") == ["NOT_FOUND"]
    assert set(_codes(post, "409")) == {
        "STATUS_UNCHANGED",
        "CUSTOMER_ERASED",
        "IDEMPOTENCY_IN_PROGRESS",
    }
    assert "Idempotent-Replayed" in post["responses"]["200"]["headers"]
    reason = schema["components"]["schemas"]["BlockReasonRequest"]
    assert reason["required"] == ["reason"]
    assert (reason["properties"]["reason"]["minLength"], 200) == (
        1,
        reason["properties"]["reason"]["maxLength"],
    )
    state = schema["components"]["schemas"]["CustomerBlock"]["properties"]
    assert all(admits_null(state[name]) for name in ("blocked_at", "blocked_by"))


def test_the_sms_budget_is_declared_for_staff(schema):
    get = schema["paths"]["/api/v1/sms-budget"]["get"]

    assert get["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "403", "503"} == set(get["responses"])
    budget = schema["components"]["schemas"]["SmsBudget"]
    assert admits_null(budget["properties"]["budget"])
    assert set(budget["required"]) >= {"sent", "budget", "percent", "alarm"}
