"""A campaign's figures: declared here, computed by the app that runs the campaigns.

The API's ``today`` (``CampaignFiguresSerializer``) shows ``campaign_figures``;
the admin's dashboard of each kind (the campaign page, refreshed while it
runs) shows ``campaign_dashboard``, and the back office's start page
``campaigns_headlines``. What they
count (draws, claims, grabs) belongs to ``draws``, which this app must not
import, so ``draws`` hands its functions over when Django starts
(``DrawsConfig.ready`` calls ``provide``).
"""

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

from campaigns.models import Campaign

FiguresFunction = Callable[[Campaign, dt.datetime | None], dict]

HeadlinesFunction = Callable[[list[Campaign], dt.datetime | None], dict[int, dict]]

_compute: FiguresFunction | None = None
_dashboard: FiguresFunction | None = None
_headlines: HeadlinesFunction | None = None


def provide(
    compute: FiguresFunction,
    *,
    dashboard: FiguresFunction,
    headlines: HeadlinesFunction,
) -> None:
    """Name the functions that compute every campaign's figures, dashboard and
    start-page headline (once, at start-up)."""
    global _compute, _dashboard, _headlines
    _compute, _dashboard, _headlines = compute, dashboard, headlines


def campaign_figures(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """Today's and all-time figures of ``campaign`` (``CampaignFiguresSerializer``)."""
    if _compute is None:
        raise ImproperlyConfigured(
            "No app computes campaign figures: is draws in INSTALLED_APPS?"
        )
    return _compute(campaign, now)


def campaign_dashboard(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """The admin's dashboard of ``campaign``: its kind's figures, the ``template``
    that shows them, its zone and local ``day`` and whether it is ``running`` now."""
    if _dashboard is None:
        raise ImproperlyConfigured(
            "No app computes campaign dashboards: is draws in INSTALLED_APPS?"
        )
    return _dashboard(campaign, now)


def campaigns_headlines(
    campaigns: list[Campaign], now: dt.datetime | None = None
) -> dict[int, dict]:
    """The start page's line of each of ``campaigns``, by id: its ``zone``, local
    ``day`` and ``headline``, today's key figures as (label, value) pairs; a
    few queries for all of them."""
    if _headlines is None:
        raise ImproperlyConfigured(
            "No app computes campaign figures: is draws in INSTALLED_APPS?"
        )
    return _headlines(campaigns, now)
