"""The one place errors become HTTP.

Services raise ``DomainError`` subclasses (``couponsite.errors``) carrying a
stable upper-snake ``code``; ``STATUS_BY_CODE`` gives each code its HTTP status
(the schema documents it from the same table), and ``exception_handler`` turns
those and DRF's own exceptions into ``{"code", "detail"}`` bodies (plus
``fields`` for validation errors).
"""

import logging
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from couponsite import metrics
from couponsite.errors import DomainError

logger = logging.getLogger(__name__)


# Every domain error code and the status it answers with. A code missing here
# is a bug: the handler leaves that error unanswered (a logged 500), the schema
# cannot be built, and ``couponsite/tests/test_domain_errors.py`` fails first.
STATUS_BY_CODE: dict[str, int] = {
    # The request names something invalid.
    "INVALID_COUNT": status.HTTP_400_BAD_REQUEST,
    "INVALID_IDEMPOTENCY_KEY": status.HTTP_400_BAD_REQUEST,
    "SIMULATION_TOO_LARGE": status.HTTP_400_BAD_REQUEST,
    "OTP_INVALID": status.HTTP_400_BAD_REQUEST,
    "OTP_EXPIRED": status.HTTP_400_BAD_REQUEST,
    "OTP_ATTEMPTS_EXCEEDED": status.HTTP_400_BAD_REQUEST,
    "EMAIL_CODE_INVALID": status.HTTP_400_BAD_REQUEST,
    "EMAIL_CODE_EXPIRED": status.HTTP_400_BAD_REQUEST,
    "EMAIL_CODE_ATTEMPTS_EXCEEDED": status.HTTP_400_BAD_REQUEST,
    "ORDER_REQUIRED": status.HTTP_400_BAD_REQUEST,
    # Not for this caller, or not now.
    "NOT_IN_ACTIVE_TIME": status.HTTP_403_FORBIDDEN,
    "NOT_RESERVATION": status.HTTP_403_FORBIDDEN,
    "PHONE_RECENTLY_ERASED": status.HTTP_403_FORBIDDEN,
    "CUSTOMER_BLOCKED": status.HTTP_403_FORBIDDEN,
    "COUNTRY_NOT_ALLOWED": status.HTTP_403_FORBIDDEN,
    # Unknown, or someone else's (they look alike).
    "NOT_FOUND": status.HTTP_404_NOT_FOUND,
    # The state of things refuses it.
    "WRONG_CAMPAIGN_KIND": status.HTTP_409_CONFLICT,
    "SOLD_OUT": status.HTTP_409_CONFLICT,
    "ERROR_DUPLICATED_RESERVATION": status.HTTP_409_CONFLICT,
    "ALREADY_RECEIVED": status.HTTP_409_CONFLICT,
    "RUSH_NOT_CONFIGURED": status.HTTP_409_CONFLICT,
    "RESERVATIONS_STILL_OPEN": status.HTTP_409_CONFLICT,
    "STATUS_UNCHANGED": status.HTTP_409_CONFLICT,
    "QUOTA_BELOW_ISSUED": status.HTTP_409_CONFLICT,
    "ALREADY_REDEEMED": status.HTTP_409_CONFLICT,
    "EXPIRED": status.HTTP_409_CONFLICT,
    "VOID": status.HTTP_409_CONFLICT,
    "HOLD_EXPIRED": status.HTTP_409_CONFLICT,
    "NOT_REDEEMED": status.HTTP_409_CONFLICT,
    "EMAIL_TAKEN": status.HTTP_409_CONFLICT,
    "CUSTOMER_ERASED": status.HTTP_409_CONFLICT,
    "IDEMPOTENCY_IN_PROGRESS": status.HTTP_409_CONFLICT,
    "REDEMPTION_LIMIT_REACHED": status.HTTP_409_CONFLICT,
    # The order does not meet the voucher's rules.
    "CURRENCY_MISMATCH": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "ORDER_BELOW_MINIMUM": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "CATEGORY_NOT_ELIGIBLE": status.HTTP_422_UNPROCESSABLE_ENTITY,
    # The same key, a different request.
    "IDEMPOTENCY_KEY_REUSED": status.HTTP_422_UNPROCESSABLE_ENTITY,
    # Once a day, once a while, or too often: come back later.
    "ALREADY_DRAWN_TODAY": status.HTTP_429_TOO_MANY_REQUESTS,
    "ALREADY_CLAIMED_TODAY": status.HTTP_429_TOO_MANY_REQUESTS,
    "OTP_RESEND_TOO_SOON": status.HTTP_429_TOO_MANY_REQUESTS,
    "EMAIL_RESEND_TOO_SOON": status.HTTP_429_TOO_MANY_REQUESTS,
    "PHONE_PREFIX_THROTTLED": status.HTTP_429_TOO_MANY_REQUESTS,
    "SMS_BUDGET_EXHAUSTED": status.HTTP_429_TOO_MANY_REQUESTS,
    "RATE_LIMITED": status.HTTP_429_TOO_MANY_REQUESTS,
    # A passing outage.
    "SERVICE_UNAVAILABLE": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def retry_after_value(seconds: float) -> str:
    """Whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


def error_headers(error: DomainError) -> dict[str, str]:
    """``Retry-After`` when the error says when to come back."""
    if error.retry_after is None:
        return {}
    return {"Retry-After": retry_after_value(error.retry_after)}


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"
    detail = _("The service is briefly unavailable; retry after the given seconds.")
    sends_retry_after = True


# The database could not be reached or dropped the connection (psycopg raises
# these for refused connections, a server restart, "too many clients"): a
# passing outage, answered 503, not a bug.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def service_unavailable(exc: Exception) -> ServiceUnavailable:
    """The 503 for a database outage; logged (once per interval, see
    ``couponsite.logfilters``) without the traceback every request would repeat."""
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    logger.error("database unavailable: %s: %s", type(exc).__name__, first_line)
    return ServiceUnavailable(retry_after=settings.SERVICE_UNAVAILABLE_RETRY_AFTER)


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    detail = _("Too many requests; retry later.")
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
    return {"code": code, "detail": str(detail), **extra}


def get_only(request) -> JsonResponse | None:
    """The ``405`` for a view that answers only ``GET`` and ``HEAD``; None when it
    may answer (plain Django views: the health checks, the metrics)."""
    if request.method in ("GET", "HEAD"):
        return None
    response = JsonResponse(
        error_body(
            "METHOD_NOT_ALLOWED",
            _('Method "{method}" not allowed.').format(method=request.method),
        ),
        status=405,
    )
    response["Allow"] = "GET, HEAD"
    return response


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
        return _domain_error_response(exc)
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
    metrics.refused(code)
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(
            code,
            str(_("The request has invalid fields.")),
            fields=_validation_fields(exc.detail),
        )
    else:
        body = error_body(code, str(exc.detail))
    return Response(
        body,
        status=exc.status_code,
        headers=_with_retry_after(exc.status_code, headers),
    )


def _domain_error_response(exc: DomainError) -> Response | None:
    status_code = STATUS_BY_CODE.get(getattr(exc, "code", None))
    if status_code is None:
        # A bug, not a refusal to guess a status for: DRF re-raises the error,
        # Django answers 500 and logs it with its traceback.
        logger.error("no HTTP status for error code %r", getattr(exc, "code", None))
        return None
    metrics.refused(exc.code)
    return Response(
        # str() now: a lazy detail speaks the request's active language.
        error_body(exc.code, str(exc.detail)),
        status=status_code,
        headers=_with_retry_after(status_code, error_headers(exc)),
    )


def _with_retry_after(status_code: int, headers: dict[str, str]) -> dict[str, str]:
    """Every 429 says when to come back (the schema declares it required there)."""
    if status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        headers.setdefault("Retry-After", "1")
    return headers
