from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        # ready() is where start-up hooks go: the models are loaded by now.
        from couponsite.retention import register_purge
        from customers import (  # noqa: F401 - registers the auth scheme, receivers, export
            export,
            schema,
            signals,
        )
        from customers.services.erasure import erased_phone_hashes_purge
        from customers.services.retention import email_codes_purge, signin_codes_purge

        # Retention: `manage.py purge_expired` runs this room's purges too.
        register_purge("sign_in_codes", signin_codes_purge)
        register_purge("email_codes", email_codes_purge)
        register_purge("erased_phone_hashes", erased_phone_hashes_purge)
