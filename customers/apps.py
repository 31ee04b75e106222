from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        from customers import (  # noqa: F401 - registers the auth scheme and receivers
            schema,
            signals,
        )
