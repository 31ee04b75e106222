from django.urls import path

from couponsite.tests import views
from couponsite.urls import handler404, handler500, urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]

urlpatterns = [
    *urlpatterns,
    path("test/idempotent", views.IdempotentEffectApi.as_view()),
    path("test/throttled", views.ThrottledApi.as_view()),
    path("test/crash", views.CrashApi.as_view()),
]
