"""JSON answers for what never reaches a DRF view: unknown routes and crashes."""

from django.http import JsonResponse
from django.views import defaults

from couponsite.api.exceptions import error_body


def _wants_html(request) -> bool:
    return request.path.startswith("/admin/")


def not_found(request, exception=None):
    if _wants_html(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body("NOT_FOUND", "No such route."), status=404)


def server_error(request):
    if _wants_html(request):
        return defaults.server_error(request)
    return JsonResponse(
        error_body("INTERNAL_ERROR", "Something went wrong on our side."), status=500
    )


def bad_request(request, exception=None):
    if _wants_html(request):
        return defaults.bad_request(request, exception)
    return JsonResponse(error_body("BAD_REQUEST", "Bad request."), status=400)


def permission_denied(request, exception=None):
    if _wants_html(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse(
        error_body("PERMISSION_DENIED", "You may not do this."), status=403
    )
