"""A campaign's figures: declared here, computed by the app that runs the campaigns.

The API's ``today`` (``CampaignFiguresSerializer``) and the admin's live
panel show them. What they count (draws, claims, grabs) belongs to ``draws``,
which this app must not import, so ``draws`` hands its function over when
Django starts (``DrawsConfig.ready`` calls ``provide``).
"""

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

from campaigns.models import Campaign

FiguresFunction = Callable[[Campaign, dt.datetime | None], dict]

_compute: FiguresFunction | None = None


def provide(compute: FiguresFunction) -> None:
    """Name the function that computes every campaign's figures (once, at start-up)."""
    global _compute
    _compute = compute


def campaign_figures(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """Today's and all-time figures of ``campaign`` (``CampaignFiguresSerializer``)."""
    if _compute is None:
        raise ImproperlyConfigured(
            "No app computes campaign figures: is draws in INSTALLED_APPS?"
        )
    return _compute(campaign, now)
