from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # ready() is where start-up hooks go: the models are loaded by now.
        from campaigns import (  # noqa: F401 - connects the receivers, the schema
            schema,
            signals,
        )
