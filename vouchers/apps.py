from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VouchersConfig(AppConfig):
    name = "vouchers"
    verbose_name = _("Vouchers")

    def ready(self) -> None:
        # ready() is where start-up hooks go: the models are loaded by now.
        # The thin path (issue 18): redemptions committed in groups. The group
        # committer is shared by every app's thin routes (draws' too): its
        # shutdown hook is registered once, here, by the lowest app.
        from couponsite.group_commit import group_committer_close
        from couponsite.server.routes import ON_SHUTDOWN, ROUTES
        from vouchers import (  # noqa: F401 - connects the receivers, adds the export's and erasure's parts
            erasure,
            export,
            receivers,
        )
        from vouchers.thin import ROUTES as VOUCHER_ROUTES

        for route in VOUCHER_ROUTES:
            if route not in ROUTES:
                ROUTES.append(route)
        if group_committer_close not in ON_SHUTDOWN:
            ON_SHUTDOWN.append(group_committer_close)
