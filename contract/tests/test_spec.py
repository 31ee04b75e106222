"""The contract checker itself: it must catch each kind of mismatch it claims to
(and pass what the schema allows), or a green contract job means nothing."""

import json

from contract.harness import Report
from contract.rules import absent_is_null
from contract.spec import OAS31, Spec, spec_errors


def document(version: str = "3.0.3", **voucher_extra) -> dict:
    voucher = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "email": {"type": "string", "format": "email", "nullable": True},
            "held_until": {"type": "string", "format": "date-time", "nullable": True},
            "opens": {"type": "string", "format": "time"},
            **voucher_extra,
        },
        "required": ["code", "email"],
    }
    error = {
        "type": "object",
        "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
        "required": ["code", "detail"],
    }
    json_of = {"application/json": {"schema": {"$ref": "#/components/schemas/Voucher"}}}
    error_of = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "openapi": version,
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/vouchers/{code}": {
                "get": {
                    "operationId": "vouchers_retrieve",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "ok", "content": json_of},
                        "429": {
                            "description": "slow down",
                            "content": error_of,
                            "headers": {
                                "Retry-After": {
                                    "required": True,
                                    "schema": {"type": "integer", "minimum": 1},
                                }
                            },
                        },
                    },
                }
            },
            "/vouchers/redeem": {
                "post": {
                    "operationId": "vouchers_redeem_create",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Redeem"}
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok", "content": json_of}},
                }
            },
        },
        "components": {
            "schemas": {
                "Voucher": voucher,
                "Error": error,
                "Redeem": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "order_ref": {"type": "string", "minLength": 1},
                    },
                },
            }
        },
    }


JSON = {"content-type": "application/json", "content-length": "10", "vary": "Accept"}


def errors(spec: Spec, path: str, status: int, headers: dict, body) -> dict:
    operation = spec.operation("get", path)
    assert operation is not None
    return spec.response_errors(operation, status, headers, json.dumps(body).encode())


def test_literal_paths_win_over_templates():
    spec = Spec(document())
    assert spec.operation("post", "/vouchers/redeem").template == "/vouchers/redeem"
    assert spec.operation("get", "/vouchers/ABCD").template == "/vouchers/{code}"
    assert spec.operation("delete", "/vouchers/ABCD") is None


def test_a_matching_answer_passes():
    found = errors(
        Spec(document()),
        "/vouchers/K7QM",
        200,
        JSON,
        {"code": "K7QM", "email": None, "held_until": "2026-01-01T00:00:00Z"},
    )
    assert found == {"status": [], "header": [], "body": []}


def test_the_status_documented_for_a_code():
    spec = Spec(document())
    responses = spec.document["paths"]["/vouchers/{code}"]["get"]["responses"]
    responses["429"]["description"] = "Error codes: `RATE_LIMITED`, `SLOW_DOWN`"
    assert spec.status_of("get", "/vouchers/{code}", "SLOW_DOWN") == 429
    assert spec.status_of("get", "/vouchers/K7QM", "RATE_LIMITED") == 429
    assert spec.status_of("get", "/vouchers/K7QM", "NOT_FOUND") is None


def test_an_undeclared_status_is_caught():
    found = errors(Spec(document()), "/vouchers/K7QM", 404, JSON, {})
    assert found["status"] == ["status 404 is not declared (declared: 200, 429)"]


def test_an_undeclared_header_is_caught_and_transport_headers_are_not():
    headers = {**JSON, "retry-after": "30", "x-frame-options": "DENY"}
    found = errors(
        Spec(document()), "/vouchers/K7QM", 200, headers, {"code": "K", "email": None}
    )
    assert found["header"] == ["header retry-after is sent but not declared"]


def test_a_declared_header_is_checked_and_a_required_one_missing_is_caught():
    spec = Spec(document())
    body = {"code": "RATE_LIMITED", "detail": "…"}
    ok = errors(spec, "/vouchers/K7QM", 429, {**JSON, "retry-after": "30"}, body)
    assert ok["header"] == []
    bad = errors(spec, "/vouchers/K7QM", 429, {**JSON, "retry-after": "0"}, body)
    assert bad["header"] == ["header retry-after: '0': 0 is less than the minimum of 1"]
    missing = errors(spec, "/vouchers/K7QM", 429, JSON, body)
    assert missing["header"] == ["header retry-after is declared required but not sent"]


def test_formats_are_checked_through_refs():
    found = errors(
        Spec(document()),
        "/vouchers/K7QM",
        200,
        JSON,
        {"code": "K", "email": "", "held_until": "tomorrow", "opens": "22:55:00"},
    )
    assert found["body"] == [
        "$.email: '' is not a 'email'",
        "$.held_until: 'tomorrow' is not a 'date-time'",
        "$.opens: '22:55:00' is not a 'time'",
    ]


def test_a_nullable_ref_is_null_only_in_a_form_that_allows_it():
    # OpenAPI 3.0.3: `nullable` beside `allOf` without `type` does not admit null.
    wrapped = {"allOf": [{"$ref": "#/components/schemas/Error"}], "nullable": True}
    spec = Spec(document(error=wrapped))
    body = {"code": "K", "email": None, "error": None}
    assert errors(spec, "/vouchers/K7QM", 200, JSON, body)["body"] == [
        "$.error: None for not nullable; None is not of type 'object'"
    ]
    # OpenAPI 3.1 says it with a null branch.
    either = {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"type": "null"}]}
    spec = Spec(document("3.1.0", error=either))
    assert spec.dialect is OAS31
    body = {"code": "K", "email": "a@example.com", "error": None}
    assert errors(spec, "/vouchers/K7QM", 200, JSON, body)["body"] == []


def test_a_body_of_an_undeclared_media_type_is_caught():
    found = errors(
        Spec(document()),
        "/vouchers/K7QM",
        200,
        {"content-type": "text/html"},
        {"code": "K"},
    )
    assert found["body"] == ["body of type 'text/html'; declared: application/json"]


def test_a_request_body_is_checked_against_the_request_schema():
    spec = Spec(document())
    operation = spec.operation("post", "/vouchers/redeem")
    assert spec.request_errors(operation, "application/json", {"code": "K"}) == []
    assert spec.request_errors(
        operation, "application/json", {"code": "K", "order_ref": ""}
    ) == ["$.order_ref: '' should be non-empty"]


def test_spec_errors_say_where_an_invalid_default_is():
    broken = document()
    redeem = broken["components"]["schemas"]["Redeem"]
    redeem["properties"]["order_ref"]["default"] = ""
    found = spec_errors(broken)
    assert len(found) == 1
    assert found[0].startswith(
        "#/components/schemas/Redeem/properties/order_ref: '' should be non-empty"
    )
    assert spec_errors(document()) == []


def test_the_report_groups_a_mismatch_seen_on_many_calls():
    report = Report()
    report.add("body", "GET /vouchers/{code} → 200", "$.email: bad", "first")
    report.add("body", "GET /vouchers/{code} → 200", "$.email: bad", "second")
    report.add("header", "GET /vouchers/{code} → 429", "retry-after", "third")
    assert len(report.found) == 2
    text = report.render()
    assert "(2 calls: first; second)" in text
    assert text.index("[header]") < text.index("[body]")


def test_absent_text_must_be_null():
    body = {
        "results": [
            {"benefit": {"currency": "", "free_item": None}, "order_ref": ""},
            {"benefit": {"currency": "USD", "free_item": None}, "order_ref": None},
        ]
    }
    assert [name for name, _ in absent_is_null(body)] == [
        "benefit.currency",
        "order_ref",
    ]
