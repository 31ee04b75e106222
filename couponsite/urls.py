from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView

from couponsite import health
from couponsite.api.docs import RedocView, SchemaView, SwaggerView
from couponsite.metrics.exposition import metrics_view

api_v1 = [
    path("", include("customers.urls")),
    path("", include("campaigns.urls")),
    path("", include("draws.urls")),
    path("", include("vouchers.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path(
        "api/docs/",
        SwaggerView.as_view(url_name="schema"),
        name="swagger-ui",
    ),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    # No cookies, no state: any method but GET is a JSON 405, not a CSRF refusal.
    path("healthz", csrf_exempt(health.liveness), name="healthz"),
    path("readyz", csrf_exempt(health.ReadinessView.as_view()), name="readyz"),
    # Prometheus's scrape, for METRICS_ALLOWED_NETWORKS and METRICS_TOKEN only;
    # not part of the API nor its schema (couponsite.metrics.exposition).
    path("metrics", csrf_exempt(metrics_view), name="metrics"),
    # Releases moved from campaigns to draws (draws/pool.py); old links still work.
    re_path(
        r"^admin/campaigns/release/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/draws/release/%(rest)s", query_string=True),
    ),
    # A campaign's "Over time" charts: draws gathers every mode's events (by name:
    # couponsite imports no app); before the admin, whose change view would take it.
    path(
        "admin/campaigns/campaign/<int:object_id>/over-time/",
        include("draws.over_time"),
    ),
    # A draw campaign's "Simulate" page (its cost simulation), the same way.
    path(
        "admin/campaigns/campaign/<int:object_id>/simulate/",
        include("draws.draw.simulation_admin"),
    ),
    path("admin/", admin.site.urls),
]

handler400 = "couponsite.api.views.bad_request"
handler403 = "couponsite.api.views.permission_denied"
handler404 = "couponsite.api.views.not_found"
handler500 = "couponsite.api.views.server_error"
