"""The published OpenAPI document, and what it says each answer may look like.

``Spec`` finds the operation a request went to, and checks an answer against it:
the status is declared, every API header sent is declared (and every required
one sent), the body's media type is declared and the body matches its schema
(OpenAPI 3.0 rules: ``nullable``, ``readOnly``/``writeOnly``; formats checked;
``$ref`` resolved against the whole document). Each check returns every problem
it finds, not just the first.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator, FormatChecker
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    OAS31Validator,
    oas30_format_checker,
    oas31_format_checker,
)
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

SPEC_URI = "urn:couponsite:openapi"

# Headers every HTTP answer may carry whatever the operation: transport, caching
# and the security headers Django adds. Anything else the server sends is part
# of the API and must be declared on the response that sends it.
TRANSPORT_HEADERS = {
    "allow",
    "cache-control",
    "connection",
    "content-language",
    "content-length",
    "content-type",
    "cross-origin-opener-policy",
    "date",
    "keep-alive",
    "referrer-policy",
    "server",
    "transfer-encoding",
    "vary",
    "x-content-type-options",
    "x-frame-options",
}
# HTTP requires WWW-Authenticate on a 401 (RFC 9110 §11.6.1); the scheme is declared
# in components.securitySchemes.
TRANSPORT_HEADERS_BY_STATUS = {401: {"www-authenticate"}}


def _format_checker(openapi: FormatChecker) -> FormatChecker:
    """JSON Schema 2020-12's formats, as schema fuzzers and most validators read
    them (``time`` is RFC 3339 full-time, with its offset; ``uri`` needs
    rfc3986-validator, ``date-time`` rfc3339-validator), plus the formats only
    OpenAPI defines (int32, int64, float, double, byte, binary, password)."""
    checker = FormatChecker(formats=())
    checker.checkers = {
        **openapi.checkers,
        **Draft202012Validator.FORMAT_CHECKER.checkers,
    }
    return checker


@dataclass(frozen=True)
class Dialect:
    """What differs between OpenAPI 3.0 and 3.1 documents."""

    spec_validator: type
    read_validator: type
    write_validator: type
    draft: Any
    format_checker: FormatChecker


OAS30 = Dialect(
    OpenAPIV30SpecValidator,
    OAS30ReadValidator,
    OAS30WriteValidator,
    DRAFT4,
    _format_checker(oas30_format_checker),
)
OAS31 = Dialect(
    OpenAPIV31SpecValidator,
    OAS31Validator,
    OAS31Validator,
    DRAFT202012,
    _format_checker(oas31_format_checker),
)


def dialect(document: dict) -> Dialect:
    return OAS31 if str(document.get("openapi", "")).startswith("3.1") else OAS30


def _pointer(*parts: str) -> str:
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return quote("/" + "/".join(escaped), safe="/~")


def _locate(node, target, at: str = "#") -> Iterator[str]:
    """JSON pointers of every place in ``node`` equal to ``target``."""
    if node == target:
        yield at
    if isinstance(node, dict):
        for key, value in node.items():
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            yield from _locate(value, target, f"{at}/{escaped}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _locate(value, target, f"{at}/{index}")


def spec_errors(document: dict) -> list[str]:
    """Every error openapi-spec-validator finds in the document (not just the
    first), each with where in the document it is."""
    errors = []
    for error in dialect(document).spec_validator(document).iter_errors():
        where = "/".join(str(part) for part in error.absolute_path)
        if not where and isinstance(error.schema, dict) and error.schema:
            where = ", ".join(_locate(document, error.schema)) or "?"
        errors.append(f"{where or '#'}: {error.message} (in {error.schema})")
    return errors


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    data: dict

    @property
    def id(self) -> str:
        return self.data.get("operationId", f"{self.method} {self.template}")

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.template}"


class Spec:
    def __init__(self, document: dict):
        self.document = document
        self.dialect = dialect(document)
        self.registry = Registry().with_resource(
            SPEC_URI,
            Resource.from_contents(document, default_specification=self.dialect.draft),
        )
        routes = []
        for template in document.get("paths", {}):
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            routes.append((template.count("{"), re.compile(f"^{pattern}$"), template))
        # Literal paths win over templates (/vouchers/check before /vouchers/{code}).
        self.routes = sorted(routes, key=lambda route: route[0])

    @classmethod
    def from_bytes(cls, content: bytes) -> "Spec":
        return cls(json.loads(content))

    def operation(self, method: str, path: str) -> Operation | None:
        for _, pattern, template in self.routes:
            if pattern.match(path):
                data = self.document["paths"][template].get(method.lower())
                if data is not None:
                    return Operation(method.lower(), template, data)
        return None

    def status_of(self, method: str, path: str, code: str) -> int | None:
        """The status whose response the schema documents ``code`` under (each
        error response's description lists its codes, `LIKE_THIS`)."""
        operation = self.operation(method, path)
        if operation is None:
            return None
        for status, response in operation.data.get("responses", {}).items():
            if f"`{code}`" in response.get("description", "") and status.isdigit():
                return int(status)
        return None

    def operations(self) -> Iterator[Operation]:
        for template, item in self.document.get("paths", {}).items():
            for method, data in item.items():
                if method in {"get", "put", "post", "patch", "delete"}:
                    yield Operation(method, template, data)

    def _schema_errors(self, validator_class, pointer: str, instance) -> list[str]:
        validator = validator_class(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=self.registry,
            format_checker=self.dialect.format_checker,
        )
        by_path: dict[str, list[str]] = {}
        for error in validator.iter_errors(instance):
            message = error.message
            if len(message) > 160:
                message = message[:157] + "..."
            by_path.setdefault(error.json_path, []).append(message)
        return [
            f"{path}: {'; '.join(sorted(set(m)))}"
            for path, m in sorted(by_path.items())
        ]

    def request_errors(
        self, operation: Operation, content_type: str, body
    ) -> list[str]:
        """Problems of a request body against the operation's declared request body."""
        request_body = operation.data.get("requestBody")
        if request_body is None:
            return [] if body is None else ["sends a body the operation does not take"]
        media = content_type.split(";")[0].strip()
        if media not in request_body.get("content", {}):
            return [f"sends {media!r}, not a declared request media type"]
        pointer = _pointer(
            "paths",
            operation.template,
            operation.method,
            "requestBody",
            "content",
            media,
            "schema",
        )
        return self._schema_errors(self.dialect.write_validator, pointer, body)

    def response_errors(
        self, operation: Operation, status: int, headers: dict[str, str], body: bytes
    ) -> dict[str, list[str]]:
        """Problems of an answer by kind: ``status``, ``header``, ``body``."""
        problems: dict[str, list[str]] = {"status": [], "header": [], "body": []}
        responses = operation.data.get("responses", {})
        key = next(
            (
                k
                for k in (str(status), f"{str(status)[0]}XX", "default")
                if k in responses
            ),
            None,
        )
        if key is None:
            problems["status"].append(
                f"status {status} is not declared (declared: {', '.join(sorted(responses))})"
            )
            return problems
        response = responses[key]
        problems["header"] = self._header_errors(response, status, headers)
        problems["body"] = self._body_errors(operation, key, response, headers, body)
        return problems

    def _header_errors(
        self, response: dict, status: int, headers: dict[str, str]
    ) -> list[str]:
        declared = {
            name.lower(): spec for name, spec in response.get("headers", {}).items()
        }
        ignored = TRANSPORT_HEADERS | TRANSPORT_HEADERS_BY_STATUS.get(status, set())
        errors = []
        for name, value in headers.items():
            lower = name.lower()
            if lower in ignored:
                continue
            if lower not in declared:
                errors.append(f"header {name} is sent but not declared")
                continue
            errors.extend(self._header_value_errors(name, value, declared[lower]))
        sent = {name.lower() for name in headers}
        for name, spec in declared.items():
            if spec.get("required") and name not in sent:
                errors.append(f"header {name} is declared required but not sent")
        return errors

    def _header_value_errors(self, name: str, value: str, spec: dict) -> list[str]:
        schema = self._resolve(spec.get("schema", {}))
        kind = schema.get("type")
        instance: Any = value
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            instance = int(value)
        elif kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            instance = float(value)
        elif kind == "boolean" and value in {"true", "false"}:
            instance = value == "true"
        validator = self.dialect.read_validator(
            schema, format_checker=self.dialect.format_checker
        )
        return [
            f"header {name}: {value!r}: {error.message}"
            for error in validator.iter_errors(instance)
        ]

    def _resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.registry.resolver(SPEC_URI).lookup(schema["$ref"]).contents
        return schema

    def _body_errors(
        self,
        operation: Operation,
        key: str,
        response: dict,
        headers: dict[str, str],
        body: bytes,
    ) -> list[str]:
        content = response.get("content", {})
        if not body:
            return [f"empty body; declared {', '.join(content)}"] if content else []
        media = headers.get("content-type", "").split(";")[0].strip()
        if media not in content:
            return [f"body of type {media!r}; declared: {', '.join(content) or 'none'}"]
        try:
            instance = json.loads(body)
        except ValueError:
            return [f"body is not JSON: {body[:80]!r}"]
        schema = content[media].get("schema")
        if schema is None:
            return []
        pointer = _pointer(
            "paths",
            operation.template,
            operation.method,
            "responses",
            key,
            "content",
            media,
            "schema",
        )
        return self._schema_errors(self.dialect.read_validator, pointer, instance)
