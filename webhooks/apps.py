from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # The thin routes leave a request to Django while they do not know
        # whether anyone listens: learn it before the server's first request.
        from couponsite.server.routes import ON_STARTUP
        from webhooks.subscriptions import subscriptions_load

        if subscriptions_load not in ON_STARTUP:
            ON_STARTUP.append(subscriptions_load)
