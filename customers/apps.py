from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # ready() is where start-up hooks go: the models are loaded by now.
        from customers import (  # noqa: F401 - registers the auth scheme and receivers
            schema,
            signals,
        )
