from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # The thin routes leave a request to Django while they do not know
        # whether anyone listens: learn it before the server's first request.
        from couponsite.server.routes import ON_STARTUP
        from webhooks.subscriptions import subscriptions_load

        if subscriptions_load not in ON_STARTUP:
            ON_STARTUP.append(subscriptions_load)

        # Retention: `manage.py purge_expired` runs this room's purges too.
        from couponsite.retention import register_purge
        from webhooks.retention import webhook_deliveries_purge, webhook_events_purge

        register_purge("webhook_deliveries", webhook_deliveries_purge)
        register_purge("webhook_events", webhook_events_purge)
