"""OpenAPI helpers: every endpoint lists the error codes it can answer with."""

from collections import defaultdict

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from couponsite.api.exceptions import DomainError


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable upper-snake error code.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field name (VALIDATION_ERROR only).",
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


def error_responses(*errors) -> dict[int, OpenApiResponse]:
    """``responses=`` entries for ``extend_schema``.

    Each error is a ``DomainError`` subclass or a ``(status, code)`` pair.
    """
    by_status: dict[int, list[str]] = defaultdict(list)
    for error in errors:
        if isinstance(error, type) and issubclass(error, DomainError):
            status, code = error.status_code, error.code
        else:
            status, code = error
        if code not in by_status[status]:
            by_status[status].append(code)
    return {
        status: OpenApiResponse(
            response=ErrorSerializer,
            description="Error codes: " + ", ".join(f"`{code}`" for code in codes),
            examples=[
                OpenApiExample(
                    code, value={"code": code, "detail": "…"}, status_codes=[status]
                )
                for code in codes
            ],
        )
        for status, codes in sorted(by_status.items())
    }
