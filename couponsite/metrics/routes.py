"""The route pattern of an answer Django gave, for the answers' metrics.

Django knows which URL pattern it resolved (``request.resolver_match.route``,
e.g. ``api/v1/campaigns/<slug:slug>/draws``); the server layer, which records
every answer (``couponsite.server.router``), does not. This middleware, the
outermost, leaves the pattern in the request's environ (and the ASGI scope
under Django's ASGI handler), where the server reads it after the answer.
"""

from django.conf import settings

from couponsite.metrics import ROUTE_KEY, UNMATCHED


def route_label(request) -> str:
    match = request.resolver_match
    if match is not None:
        return match.route or match.view_name or UNMATCHED
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"  # whitenoise answers before any URL is resolved
    return UNMATCHED


class RouteLabelMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        label = route_label(request)
        request.META[ROUTE_KEY] = label  # WSGI: the environ itself
        scope = getattr(request, "scope", None)  # ASGIRequest
        if scope is not None:
            scope[ROUTE_KEY] = label
        return response
