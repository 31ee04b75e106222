"""The opening checks every way of taking part starts with: the right kind, running.

Draws and claims then key their once-a-day rule on the campaign's local day
and tell a repeat to come back at its local midnight; a rush keys on its
cycle's day instead (``draws.rush.services.common.rush_cycle_at``).
"""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from couponsite.errors import DomainError


class NotInActiveTime(DomainError):
    code = "NOT_IN_ACTIVE_TIME"
    detail = _("This campaign is not open right now.")


class WrongCampaignKind(DomainError):
    code = "WRONG_CAMPAIGN_KIND"
    detail = _("This campaign does not work that way.")


_NOT_THIS_KIND = {
    Campaign.Kind.DRAW: "This campaign is not a lucky draw.",
    Campaign.Kind.CLAIM: "This campaign is not a claim campaign.",
    Campaign.Kind.RUSH: "This campaign is not a flash-sale rush.",
}


@dataclass(frozen=True)
class Today:
    """The campaign's local day at the moment of asking, and how long it lasts."""

    day: dt.date
    seconds_left: float  # until the campaign's local midnight: a repeat's Retry-After


def require_kind(
    campaign: Campaign, kind: Campaign.Kind, detail: str | None = None
) -> None:
    """``WRONG_CAMPAIGN_KIND`` unless ``campaign`` is of ``kind`` (``detail``: what
    to say instead of "This campaign is not a …")."""
    if campaign.kind != kind:
        raise WrongCampaignKind(detail or _NOT_THIS_KIND[kind])


def open_today(campaign: Campaign, kind: Campaign.Kind, now: dt.datetime) -> Today:
    """The checks a draw and a claim open with, in their order: kind, then running."""
    require_kind(campaign, kind)
    if not campaign.is_running(now):
        raise NotInActiveTime()
    return Today(
        day=campaign.local_day(now),
        seconds_left=campaign.seconds_to_local_midnight(now),
    )
