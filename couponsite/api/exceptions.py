"""Domain errors and the one place they become HTTP.

Services raise ``DomainError`` subclasses carrying a stable upper-snake ``code``
and an HTTP status; ``exception_handler`` turns those and DRF's own exceptions
into ``{"code", "detail"}`` bodies (plus ``fields`` for validation errors).
"""

import logging
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule said no. Subclasses set ``code``, ``status_code``, ``detail``.

    A subclass whose answers carry ``Retry-After`` (it is raised with
    ``retry_after``) sets ``sends_retry_after`` so the schema declares the
    header; every 429 carries it anyway.
    """

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "BAD_REQUEST"
    detail: str = "The request was refused."
    sends_retry_after: bool = False

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None):
        self.detail = detail or self.detail
        self.retry_after = retry_after
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": retry_after_value(self.retry_after)}


def retry_after_value(seconds: float) -> str:
    """Whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "NOT_FOUND"
    detail = "Not found."


class ServiceUnavailable(DomainError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "SERVICE_UNAVAILABLE"
    detail = "The service is briefly unavailable; retry after the given seconds."
    sends_retry_after = True


# The database could not be reached or dropped the connection (psycopg raises
# these for refused connections, a server restart, "too many clients"): a
# passing outage, answered 503, not a bug.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def service_unavailable(exc: Exception) -> ServiceUnavailable:
    """The 503 for a database outage; logged (once per interval, see
    ``couponsite.logfilters``) without the traceback every request would repeat."""
    logger.error("database unavailable: %s", type(exc).__name__)
    return ServiceUnavailable(retry_after=settings.SERVICE_UNAVAILABLE_RETRY_AFTER)


class RateLimited(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "RATE_LIMITED"
    detail = "Too many requests; retry later."
    sends_retry_after = True


# DRF's exception classes, by the code we publish for them.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "MALFORMED_REQUEST",
    exceptions.AuthenticationFailed: "INVALID_TOKEN",
    exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
    exceptions.PermissionDenied: "PERMISSION_DENIED",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.Throttled: "RATE_LIMITED",
    exceptions.ValidationError: "VALIDATION_ERROR",
}


def error_body(code: str, detail: str, **extra) -> dict:
    return {"code": code, "detail": detail, **extra}


def _drf_code(exc: exceptions.APIException) -> str:
    if getattr(exc, "api_code", None):  # a subclass naming its own code
        return exc.api_code
    for cls in type(exc).__mro__:
        if cls in _DRF_CODES:
            return _DRF_CODES[cls]
    return str(exc.default_code).upper()


def _flatten(detail, path: str, into: dict[str, list[str]]) -> None:
    """Collect messages under dotted paths: ``coupon_types.0.probability``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY and path:
                _flatten(value, path, into)  # about the nested object as a whole
            else:
                _flatten(value, f"{path}.{key}" if path else str(key), into)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                _flatten(value, f"{path}.{index}" if path else str(index), into)
            else:
                into.setdefault(path or "non_field_errors", []).append(str(value))
    else:
        into.setdefault(path or "non_field_errors", []).append(str(detail))


def _validation_fields(detail) -> dict[str, list[str]]:
    """Validation errors as ``{field path: [message, ...]}``, one level deep.

    A nested serializer's errors (``{"coupon_types": [{}, {"name": [...]}]}``) or
    a list field's (``{"emails": {"3": [...]}}``) become ``coupon_types.1.name``
    and ``emails.3``, so every value is a list of strings, as the schema says. A
    nested ``non_field_errors`` is about the object at its path, so it takes that
    path (``coupon_types`` for "This list may not be empty.").
    """
    fields: dict[str, list[str]] = {}
    _flatten(detail, "", fields)
    return fields


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error answer has ``code`` and ``detail``."""
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        exc = service_unavailable(exc)
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.code, exc.detail),
            status=exc.status_code,
            headers=_with_retry_after(exc.status_code, exc.headers()),
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handler answers, and it is logged

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = retry_after_value(exc.wait)

    code = _drf_code(exc)
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(
            code,
            "The request has invalid fields.",
            fields=_validation_fields(exc.detail),
        )
    else:
        body = error_body(code, str(exc.detail))
    return Response(
        body,
        status=exc.status_code,
        headers=_with_retry_after(exc.status_code, headers),
    )


def _with_retry_after(status_code: int, headers: dict[str, str]) -> dict[str, str]:
    """Every 429 says when to come back (the schema declares it required there)."""
    if status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        headers.setdefault("Retry-After", "1")
    return headers
