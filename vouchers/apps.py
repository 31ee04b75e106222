from django.apps import AppConfig


class VouchersConfig(AppConfig):
    name = "vouchers"

    def ready(self) -> None:
        from vouchers import receivers  # noqa: F401 - connects the receivers
