"""The API's documentation pages (Swagger UI, Redoc), served with everything they
need from this server: the scripts come from drf-spectacular-sidecar, the Redoc
template drops its web fonts, and a Content-Security-Policy keeps the bundles'
remaining remote references (Redoc's attribution logo, Swagger's validator
badge) from being fetched at all."""

from django.conf import settings
from django.utils import translation
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

# 'unsafe-inline': both pages start from an inline script and inline styles;
# blob: Redoc's search runs in a worker made from a blob.
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' blob:",
        "worker-src 'self' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ]
)


class _SelfContained:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CSP
        return response


class SwaggerView(_SelfContained, SpectacularSwaggerView):
    pass


class RedocView(_SelfContained, SpectacularRedocView):
    pass


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema in English, whatever language the reader's browser asks
    for (``?lang=`` still chooses one): the API's documentation stays English,
    while the models' labels and help texts it quotes are translated for the
    back office. Rendered here, inside the language, as its texts are lazy."""

    def dispatch(self, request, *args, **kwargs):
        if request.GET.get("lang"):
            return super().dispatch(request, *args, **kwargs)
        with translation.override(settings.LANGUAGE_CODE):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            response.headers.setdefault("Content-Language", settings.LANGUAGE_CODE)
        return response
