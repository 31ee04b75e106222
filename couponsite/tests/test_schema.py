"""The OpenAPI schema covers every endpoint and its errors; the docs pages work offline."""

import re
import zoneinfo

import pytest
from django.urls import resolve

from couponsite.api.schema import admits_null

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


# --- The schema says exactly what the server does (issues 10.9 and 19) ----------


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def _component(schema, name):
    return schema["components"]["schemas"][name]


def _resolve(schema, node):
    while "$ref" in node:
        node = _component(schema, node["$ref"].rsplit("/", 1)[1])
    return node


def _walk(node, path=""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def test_no_property_defaults_to_a_value_it_refuses(schema):
    """A generated client sends the default: "" under minLength 1 is a sure 400."""
    for where, node in _walk(schema["components"]):
        if node.get("default") == "":
            assert node.get("minLength", 0) == 0, where


def test_security_says_who_may_call(schema):
    security = {name: op["security"] for name, op in _operations(schema)}

    # Open to anyone: [] (no token needed), the form generated clients read as
    # "a client with or without a token"; [{bearerAuth: []}, {}] makes them
    # demand one.
    open_to_anyone = [
        "POST /api/v1/auth/otp",
        "POST /api/v1/auth/token",
        "GET /api/v1/campaigns",
        "GET /api/v1/campaigns/{slug}",
        "GET /api/v1/campaigns/{slug}/draw-seeds",
    ]
    for name in open_to_anyone:
        assert security[name] == [], name
    for name, requirement in security.items():
        if name not in open_to_anyone:
            assert requirement == [{"bearerAuth": []}], name


def test_anonymous_list_of_campaigns_is_answered(api_client):
    assert api_client.get("/api/v1/campaigns").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/campaigns", "/api/v1/vouchers"])
def test_paging_parameters_are_bounded_integers(schema, path):
    parameters = {
        p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]
    }

    assert parameters["limit"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 200,
        "default": 50,
    }
    assert parameters["offset"]["type"] == "integer"
    assert parameters["offset"]["minimum"] == 0 and parameters["offset"]["maximum"]


def test_rush_window_times_are_a_pattern_not_format_time(schema):
    """RFC 3339 `format: time` needs an offset; "22:55:00" has none."""
    windows = _component(schema, "RushWindows")["properties"]
    create = _component(schema, "CampaignCreateRequest")["properties"]
    for field in (
        "reservation_opens",
        "reservation_closes",
        "rush_opens",
        "rush_closes",
    ):
        for properties in (windows, create):
            assert "format" not in properties[field]
            assert re.fullmatch(properties[field]["pattern"].strip("^$"), "22:55:00")


def test_time_zone_is_declared_by_a_pattern_every_zone_the_server_knows_matches(
    schema,
):
    """Not an enum: IANA aliases collide as generated identifiers (GMT+0, GMT0)."""
    timezone = _resolve(
        schema, _component(schema, "CampaignCreateRequest")["properties"]["timezone"]
    )
    if "allOf" in timezone:
        timezone = _resolve(schema, timezone["allOf"][0])

    assert "enum" not in timezone
    for zone in zoneinfo.available_timezones():
        assert re.fullmatch(timezone["pattern"], zone), zone
        assert len(zone) <= timezone["maxLength"]


def test_validation_errors_are_lists_of_strings_by_field_path(schema):
    fields = _component(schema, "Error")["properties"]["fields"]

    assert fields["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert "coupon_types.0.probability" in fields["description"]


def _request_schema(schema, path, method="post"):
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return _resolve(schema, body["schema"])


@pytest.mark.parametrize("path", ["/api/v1/auth/otp", "/api/v1/auth/token"])
def test_phone_has_the_pattern_the_server_checks(schema, path):
    phone = _request_schema(schema, path)["properties"]["phone"]
    pattern = re.compile(phone["pattern"])

    assert pattern.search("+14155550123") and pattern.search("(415) 555-0123")
    assert not pattern.search("call me") and not pattern.search("+1 415 555 0123 ext")


def test_idempotency_key_has_the_servers_pattern(schema):
    for name, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "Idempotency-Key":
                pattern = re.compile(parameter["schema"]["pattern"])
                assert pattern.search("4b6f2c1e-0a4e-4f7e-9c1b-2f0d6c9a7e31"), name
                assert not pattern.search("naïve") and not pattern.search(""), name


def test_voucher_generation_takes_exactly_one_of_email_or_emails(schema):
    body = _request_schema(schema, "/api/v1/vouchers")
    shapes = [_resolve(schema, shape) for shape in body["oneOf"]]

    assert [
        [name for name in ("email", "emails") if name in shape["required"]]
        for shape in shapes
    ] == [["email"], ["emails"]]
    assert all({"email", "emails"} - set(shape["properties"]) for shape in shapes)


def test_coupon_type_input_is_one_shape_per_benefit_kind(schema):
    coupon_types = _request_schema(schema, "/api/v1/campaigns")["properties"][
        "coupon_types"
    ]
    shapes = [
        _resolve(schema, s) for s in _resolve(schema, coupon_types["items"])["oneOf"]
    ]

    needs = {}
    for shape in shapes:
        kind = _resolve(schema, shape["properties"]["benefit_kind"]["allOf"][0])["enum"]
        needs[kind[0]] = sorted(
            set(shape["required"]) & {"amount", "currency", "percent", "free_item"}
        )
        kind_required = "benefit_kind" in shape["required"]
        default = shape["properties"]["benefit_kind"].get("default")
        # Only the default kind may be left out, and the schema says it is the default.
        assert kind_required != (default == "percent"), kind
    assert needs == {
        "amount": ["amount", "currency"],
        "percent": ["percent"],
        "free_item": ["free_item"],
    }


def test_optional_notes_are_nullable_without_a_blank_default(schema):
    note = _component(schema, "ReleaseInputRequest")["properties"]["note"]
    order_ref = _component(schema, "VoucherRedeemRequest")["properties"]["order_ref"]

    for field in (note, order_ref):
        assert admits_null(field) and "default" not in field


def test_absent_values_are_declared_null(schema):
    voucher = _component(schema, "Voucher")["properties"]
    benefit = _component(schema, "Benefit")["properties"]

    for field in (voucher["email"], voucher["order_ref"]):
        assert admits_null(field)
    for field in (benefit["currency"], benefit["free_item"]):
        assert admits_null(field)


def test_every_429_declares_retry_after(schema):
    for name, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if status == "429":
                header = response["headers"]["Retry-After"]
                assert header["required"] is True, name
                assert header["schema"] == {"type": "integer", "minimum": 1}


def test_an_already_drawn_day_declares_retry_after(schema):
    draws = schema["paths"]["/api/v1/campaigns/{slug}/draws"]["post"]["responses"]
    status = next(
        s for s, r in draws.items() if "ALREADY_DRAWN_TODAY" in r["description"]
    )

    assert "Retry-After" in draws[status]["headers"]


def test_idempotent_operations_declare_the_replay_header(schema):
    idempotent = []
    for name, operation in _operations(schema):
        names = [p["name"] for p in operation.get("parameters", [])]
        if "Idempotency-Key" not in names:
            continue
        idempotent.append(name)
        success = next(r for s, r in operation["responses"].items() if s < "300")
        assert success["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"]
        assert "Idempotent-Replayed" not in operation["responses"].get("429", {}).get(
            "headers", {}
        )
    assert len(idempotent) >= 6


def test_paged_lists_declare_the_paging_validation_error(schema):
    for name, operation in _operations(schema):
        if "limit" in [p["name"] for p in operation.get("parameters", [])]:
            errors = operation["responses"]["400"]["description"]
            assert "VALIDATION_ERROR" in errors, name


def test_rate_limited_operations_declare_429(schema):
    for path, operations in schema["paths"].items():
        view = resolve(re.sub(r"\{[^}]+\}", "1", path)).func.cls
        for method, operation in operations.items():
            if view.throttle_classes:
                assert "429" in operation["responses"], f"{method} {path}"
    assert "429" in schema["paths"]["/api/v1/vouchers/{code}"]["get"]["responses"]


def test_every_operation_declares_the_database_outage(schema):
    for name, operation in _operations(schema):
        unavailable = operation["responses"]["503"]
        assert "SERVICE_UNAVAILABLE" in unavailable["description"], name
        assert unavailable["headers"]["Retry-After"]["required"] is True, name


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans"])
def test_the_schema_is_english_whatever_the_browser_asks(client, schema, language):
    """A client generated from the schema is the same whoever fetched it: the
    models' labels and help texts it quotes are translated for the back office,
    the API's documentation is not; ``?lang=`` asks for another language."""
    accept = "application/vnd.oai.openapi+json"
    asked_in_chinese = client.get(
        "/api/schema/", HTTP_ACCEPT=accept, HTTP_ACCEPT_LANGUAGE=language
    )
    with_lang = client.get(f"/api/schema/?lang={language}", HTTP_ACCEPT=accept)

    assert asked_in_chinese["Content-Language"] == "en"
    assert not re.search(r"[\u4e00-\u9fff]", asked_in_chinese.content.decode())
    assert asked_in_chinese.json() == schema
    assert with_lang.json() != schema
