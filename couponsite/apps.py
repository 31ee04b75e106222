from django.apps import AppConfig


class CouponsiteConfig(AppConfig):
    """The project package doubles as the app holding shared API plumbing."""

    name = "couponsite"
    verbose_name = "Platform"
