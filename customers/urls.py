from django.urls import path

from customers import api

urlpatterns = [
    path("auth/otp", api.OtpRequestApi.as_view(), name="auth-otp"),
    path("auth/token", api.TokenApi.as_view(), name="auth-token"),
    path("me", api.MeApi.as_view(), name="me"),
    path("me/export", api.MeExportApi.as_view(), name="me-export"),
    path("me/email/verify", api.EmailVerifyApi.as_view(), name="me-email-verify"),
    path(
        "customers/<int:customer_id>/block",
        api.CustomerBlockApi.as_view(),
        name="customer-block",
    ),
    path(
        "customers/<int:customer_id>/unblock",
        api.CustomerUnblockApi.as_view(),
        name="customer-unblock",
    ),
    path("sms-budget", api.SmsBudgetApi.as_view(), name="sms-budget"),
]
