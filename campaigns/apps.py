from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        # ready() is where start-up hooks go: the models are loaded by now.
        from campaigns import (  # noqa: F401 - connects the receivers, the schema
            schema,
            signals,
        )
