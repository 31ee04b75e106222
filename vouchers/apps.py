from django.apps import AppConfig


class VouchersConfig(AppConfig):
    name = "vouchers"

    def ready(self) -> None:
        # ready() is where start-up hooks go: the models are loaded by now.
        from vouchers import receivers  # noqa: F401 - connects the receivers
