from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from campaigns import (  # noqa: F401 - connects the receivers, the schema
            schema,
            signals,
        )
