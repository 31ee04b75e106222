from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DrawsConfig(AppConfig):
    name = "draws"
    # Every way a customer takes part: draws, claims, releases, the rush.
    verbose_name = _("Draws")

    def ready(self) -> None:
        # ready() is where start-up hooks go: the models are loaded by now.
        from campaigns import figures
        from draws.figures import (
            campaign_dashboard,
            campaign_figures,
            campaigns_headlines,
        )

        figures.provide(
            campaign_figures,
            dashboard=campaign_dashboard,
            headlines=campaigns_headlines,
        )

        # A draw campaign's detail publishes today's seed hash (issue 15).
        from campaigns import fairness
        from draws.draw.fairness import draw_fairness

        fairness.provide(draw_fairness)

        # The thin path: hot refusals answered before Django (issue 18).
        from couponsite.server.routes import ROUTES
        from draws.claim.thin import ROUTES as CLAIM_ROUTES
        from draws.draw.thin import ROUTES as DRAW_ROUTES
        from draws.rush.thin import ROUTES as RUSH_ROUTES

        for route in (*DRAW_ROUTES, *CLAIM_ROUTES, *RUSH_ROUTES):
            if route not in ROUTES:
                ROUTES.append(route)

        # The last invariant audit, read at each metrics scrape.
        from couponsite.metrics.exposition import FIGURES
        from draws.invariants.figures import audit_figures

        if audit_figures not in FIGURES:
            FIGURES.append(audit_figures)

        # Each mode's part of a customer's export (GET /api/v1/me/export).
        from draws.claim import export as claim_export  # noqa: F401
        from draws.draw import export as draw_export  # noqa: F401
        from draws.rush import export as rush_export  # noqa: F401
