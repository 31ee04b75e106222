from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from couponsite import health

api_v1 = [
    path("", include("customers.urls")),
    path("", include("campaigns.urls")),
    path("", include("draws.urls")),
    path("", include("vouchers.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema"),
        name="swagger-ui",
    ),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.ReadinessView.as_view(), name="readyz"),
    path("admin/", admin.site.urls),
]

handler400 = "couponsite.api.views.bad_request"
handler403 = "couponsite.api.views.permission_denied"
handler404 = "couponsite.api.views.not_found"
handler500 = "couponsite.api.views.server_error"
