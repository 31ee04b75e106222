"""OpenAPI: every endpoint lists its error codes, headers and who may call it.

``AutoSchema`` (the project's ``DEFAULT_SCHEMA_CLASS``) adds what
drf-spectacular cannot see by itself, in one place for every operation:

- ``security`` as generators read it: ``[]`` for operations anyone may call
  (sign-in, the campaign list and detail: a token sent there is still checked),
  ``[{bearerAuth: []}]`` for those that need a token;
- the ``Retry-After`` header on every 429 and on the other errors that send it
  (``error_responses`` knows which);
- the ``Idempotent-Replayed`` header on the answers of ``@idempotent`` handlers;
- ``503 SERVICE_UNAVAILABLE`` (with ``Retry-After``) on every operation.
"""

from collections import defaultdict

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import permissions, serializers

from couponsite.api.exceptions import (
    STATUS_BY_CODE,
    DomainError,
    ServiceUnavailable,
)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable upper-snake error code.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=(
            "VALIDATION_ERROR only: messages by field path. A nested field's path "
            "is dotted (`coupon_types.0.probability`, `emails.3`); errors about "
            "the body as a whole are under `non_field_errors`."
        ),
    )


# Errors DRF raises itself, by the code the exception handler gives them.
VALIDATION_ERROR = (400, "VALIDATION_ERROR")
MALFORMED_REQUEST = (400, "MALFORMED_REQUEST")
NOT_AUTHENTICATED = (401, "NOT_AUTHENTICATED")
INVALID_TOKEN = (401, "INVALID_TOKEN")
TOKEN_EXPIRED = (401, "TOKEN_EXPIRED")
PERMISSION_DENIED = (403, "PERMISSION_DENIED")
NOT_FOUND = (404, "NOT_FOUND")
RATE_LIMITED = (429, "RATE_LIMITED")

AUTH_ERRORS = (NOT_AUTHENTICATED, INVALID_TOKEN, TOKEN_EXPIRED, PERMISSION_DENIED)
BODY_ERRORS = (VALIDATION_ERROR, MALFORMED_REQUEST)

RETRY_AFTER = "Retry-After"
REPLAYED = "Idempotent-Replayed"


def _retry_after_header(*, required: bool, codes: list[str]) -> dict:
    description = "Seconds to wait before trying again."
    if not required:
        description += " Sent with " + ", ".join(f"`{code}`" for code in codes) + "."
    return {
        "required": required,
        "description": description,
        "schema": {"type": "integer", "minimum": 1},
    }


REPLAYED_HEADER = {
    "required": False,
    "description": (
        "`true` when this is the stored answer to an earlier request with the same "
        "`Idempotency-Key` (nothing was done again)."
    ),
    "schema": {"type": "string", "enum": ["true"]},
}


class ErrorResponse(OpenApiResponse):
    """An error response with the headers it carries (read by ``AutoSchema``)."""

    def __init__(self, *args, headers: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers or {}


def error_responses(*errors) -> dict[int, OpenApiResponse]:
    """``responses=`` entries for ``extend_schema``.

    Each error is a ``DomainError`` subclass (its status from ``STATUS_BY_CODE``,
    as the exception handler answers) or a ``(status, code)`` pair. Every 429
    declares a required ``Retry-After``; another status declares it (not
    required) when one of its errors ``sends_retry_after``.
    """
    by_status: dict[int, list[str]] = defaultdict(list)
    waits: dict[int, list[str]] = defaultdict(list)
    for error in errors:
        if isinstance(error, type) and issubclass(error, DomainError):
            status, code = STATUS_BY_CODE[error.code], error.code
            if error.sends_retry_after and code not in waits[status]:
                waits[status].append(code)
        else:
            status, code = error
        if code not in by_status[status]:
            by_status[status].append(code)
    responses = {}
    for status, codes in sorted(by_status.items()):
        headers = {}
        if status == 429:
            headers[RETRY_AFTER] = _retry_after_header(required=True, codes=codes)
        elif waits[status]:
            headers[RETRY_AFTER] = _retry_after_header(
                required=set(waits[status]) == set(codes), codes=waits[status]
            )
        responses[status] = ErrorResponse(
            response=ErrorSerializer,
            description="Error codes: " + ", ".join(f"`{code}`" for code in codes),
            examples=[
                OpenApiExample(
                    code, value={"code": code, "detail": "…"}, status_codes=[status]
                )
                for code in codes
            ],
            headers=headers,
        )
    return responses


def _allows_anonymous(permission_classes: list[type], method: str) -> bool:
    """No permission class (or only ones that let anyone through) guards it."""
    return all(
        cls is permissions.AllowAny
        or (
            cls is permissions.IsAuthenticatedOrReadOnly
            and method in permissions.SAFE_METHODS
        )
        for cls in permission_classes
    )


# Answers the idempotency record never stores, so never replays: 401s
# (authentication runs before the handler), 429s and 5xx.
_NEVER_REPLAYED = ("401", "429")


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            operation["security"] = self._security()
        return operation

    def _security(self) -> list[dict]:
        schemes = [
            requirement
            for requirement in self.get_auth()
            if requirement  # drf-spectacular's {} for AllowAny: decided below
        ]
        if not schemes:
            return []  # anonymous only: no token is read
        perms = [type(p) for p in self.view.get_permissions()]
        if _allows_anonymous(perms, self.method):
            # Anyone may call; a token, if sent, is still checked. OpenAPI's
            # "optional" form, [{bearerAuth: []}, {}], makes generated clients
            # (openapi-python-client) demand a token, so it is declared as open.
            return []
        return schemes

    def _get_response_bodies(self, direction="response"):
        """Every operation may meet a database outage: 503 with Retry-After."""
        responses = super()._get_response_bodies(direction)
        for status, response in error_responses(ServiceUnavailable).items():
            responses.setdefault(
                str(status),
                self._get_response_for_code(response, str(status), direction=direction),
            )
        return responses

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return bool(getattr(handler, "idempotent", False))

    def _get_response_for_code(
        self, serializer, status_code, media_types=None, direction="response"
    ):
        response = super()._get_response_for_code(
            serializer, status_code, media_types, direction
        )
        headers = dict(getattr(serializer, "headers", None) or {})
        if (
            self._is_idempotent()
            and status_code < "500"
            and status_code not in _NEVER_REPLAYED
        ):
            headers[REPLAYED] = REPLAYED_HEADER
        if headers:
            response["headers"] = {**response.get("headers", {}), **headers}
        return response


def require_request_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: a body that must name something (it has
    required properties, or is one of several shapes) is a required body, so a
    generated client cannot call the operation without one."""
    schemas = result.get("components", {}).get("schemas", {})
    for path in result.get("paths", {}).values():
        for operation in path.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body or body.get("required"):
                continue
            for media in body.get("content", {}).values():
                schema = media.get("schema", {})
                ref = schema.get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    schema = schemas.get(ref.rsplit("/", 1)[1], {})
                if schema.get("required") or "oneOf" in schema:
                    body["required"] = True
    return result


def admits_null(field: dict) -> bool:
    """Whether an OpenAPI 3.1 property schema allows ``null``."""
    types = field.get("type")
    if types == "null" or (isinstance(types, list) and "null" in types):
        return True
    return any(admits_null(option) for option in field.get("oneOf", []))
