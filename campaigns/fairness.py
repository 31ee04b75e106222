"""A draw campaign's published commitment (issue 15): declared here, computed
by the app that runs the draws.

The campaign detail's ``draw_fairness`` shows today's seed hash of a draw
campaign, published before the day's first draw. Seeds belong to ``draws``,
which this app must not import, so ``draws`` hands its function over when
Django starts (``DrawsConfig.ready`` calls ``provide``), as for the figures
(``campaigns.figures``).
"""

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

from campaigns.models import Campaign

FairnessFunction = Callable[[Campaign, dt.datetime | None], dict]

_compute: FairnessFunction | None = None


def provide(compute: FairnessFunction) -> None:
    """Name the function that tells a draw campaign's commitment (at start-up)."""
    global _compute
    _compute = compute


def campaign_fairness(
    campaign: Campaign, now: dt.datetime | None = None
) -> dict | None:
    """Today's seed hash of a draw campaign (``DrawFairnessSerializer``); None
    for the other kinds."""
    if campaign.kind != Campaign.Kind.DRAW:
        return None
    if _compute is None:
        raise ImproperlyConfigured(
            "No app publishes draw seeds: is draws in INSTALLED_APPS?"
        )
    return _compute(campaign, now)
