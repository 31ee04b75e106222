"""JSON answers for what never reaches a DRF view: unknown routes, refused CSRF
checks, crashes and database outages outside the API's views."""

import sys

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views import csrf, defaults

from couponsite.api.exceptions import (
    DATABASE_UNAVAILABLE_ERRORS,
    error_body,
    error_headers,
    service_unavailable,
)


def _wants_html(request) -> bool:
    return request.path.startswith("/admin/")


def not_found(request, exception=None):
    if _wants_html(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body("NOT_FOUND", gettext("No such route.")), status=404)


def _unavailable(request, exc: Exception):
    error = service_unavailable(exc)
    if _wants_html(request):
        response = HttpResponse(error.detail, status=503, content_type="text/plain")
    else:
        response = JsonResponse(error_body(error.code, error.detail), status=503)
    for name, value in error_headers(error).items():
        response[name] = value
    return response


def server_error(request):
    """handler500; Django calls it inside its ``except``, so the error is at hand."""
    exc = sys.exception()
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        return _unavailable(request, exc)
    if _wants_html(request):
        return defaults.server_error(request)
    return JsonResponse(
        error_body("INTERNAL_ERROR", gettext("Something went wrong on our side.")),
        status=500,
    )


def bad_request(request, exception=None):
    if _wants_html(request):
        return defaults.bad_request(request, exception)
    return JsonResponse(error_body("BAD_REQUEST", gettext("Bad request.")), status=400)


def permission_denied(request, exception=None):
    if _wants_html(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse(
        error_body("PERMISSION_DENIED", gettext("You may not do this.")), status=403
    )


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the admin keeps Django's page; everything else is JSON."""
    if _wants_html(request):
        return csrf.csrf_failure(request, reason=reason)
    return JsonResponse(
        error_body(
            "CSRF_FAILED",
            gettext("Cross-site request refused: %(reason)s") % {"reason": reason},
        ),
        status=403,
    )
